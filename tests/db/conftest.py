"""Real Postgres: one throwaway database per run; each test inside a transaction rolled back at
the end (the code under test commits to savepoints inside it)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import make_engine

pytestmark = pytest.mark.db


@pytest.fixture(scope="session")
async def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine) -> async_sessionmaker[AsyncSession]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield async_sessionmaker(bind=conn, expire_on_commit=False,
                                 join_transaction_mode="create_savepoint")
        await outer.rollback()


@pytest.fixture
async def session(sessionmaker) -> AsyncSession:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def committing_sessionmaker(engine) -> async_sessionmaker[AsyncSession]:
    """For code that runs many sessions at once (calls in parallel): real commits on an emptied
    call log. The database is this run's own, so emptying it harms nothing."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE calls, call_events, ivr_steps, ivr_versions, voicemails, callback_tasks, complaints, agents, agent_state_changes, queues, offers, customers CASCADE"))
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE calls, call_events, ivr_steps, ivr_versions, voicemails, callback_tasks, complaints, agents, agent_state_changes, queues, offers, customers CASCADE"))
