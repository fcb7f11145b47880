"""Real Postgres: one throwaway database per run; each test inside a transaction rolled back at
the end (the code under test commits to savepoints inside it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import make_engine
from tests.support.clock import FakeClock
from tests.support.fake_telephony import FakeTelephony

pytestmark = pytest.mark.db
# What a committing test empties (with everything that refers to it: CASCADE).
CALL_LOG = ("calls", "call_events", "ivr_steps", "ivr_versions", "voicemails", "callback_tasks",
            "complaints", "agents", "agent_state_changes", "queues", "offers", "customers")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "committing: sessions really commit, on an emptied call log (the call flow)")
    config.addinivalue_line(
        "markers", "long_grace: the caller's moment to hang up first (R2) outlasts a busy machine")


@pytest.fixture(scope="session")
async def engine(database_url: str):
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(request, engine) -> async_sessionmaker[AsyncSession]:
    """Sessions inside the test's transaction, rolled back at the end; in a module marked
    `committing` (the call flow, which runs many sessions at once) real commits on an emptied
    call log, as `committing_sessionmaker` gives."""
    if request.node.get_closest_marker("committing") is not None:
        async with _emptied(engine):
            yield async_sessionmaker(engine, expire_on_commit=False)
        return
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
    async with _emptied(engine):
        yield async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def fake() -> FakeTelephony:
    """The in-memory telephony port the call-flow tests drive."""
    return FakeTelephony()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@asynccontextmanager
async def _emptied(engine) -> AsyncIterator[None]:
    """The call log emptied before the test and again after it."""
    truncate = text(f"TRUNCATE {', '.join(CALL_LOG)} CASCADE")
    async with engine.begin() as conn:
        await conn.execute(truncate)
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(truncate)
