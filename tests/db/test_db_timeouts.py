"""R21 (#15): a Postgres that goes silent (a partition, a failover) makes a query fail within
the configured limits instead of hanging whoever awaits it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.db import make_engine
from app.ordered_writer import transient
from tests.support.pg_proxy import SHORT, proxied_engine as through_proxy

HUNG = 30.0  # generous: it only tells "failed" from "hung"


@pytest.fixture
async def proxied_engine(database_url):
    async with through_proxy(database_url) as (engine, proxy):
        yield engine, proxy


async def select_one(engine) -> Exception | None:
    """`SELECT 1`, and what it failed with."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - the test looks at it
        return exc
    return None


async def test_a_query_on_a_connection_that_went_silent_fails_instead_of_hanging(
        proxied_engine) -> None:
    engine, proxy = proxied_engine
    assert await select_one(engine) is None  # a pooled connection, open through the proxy
    proxy.hang()
    failed = await asyncio.wait_for(select_one(engine), HUNG)  # TimeoutError here: it hung
    assert failed is not None and transient(failed), repr(failed)
    proxy.restore()
    assert await select_one(engine) is None  # and the engine serves again


async def test_connecting_to_a_silent_server_fails_instead_of_hanging(proxied_engine) -> None:
    engine, proxy = proxied_engine
    proxy.hang()  # no connection opened yet: the connect itself goes unanswered
    failed = await asyncio.wait_for(select_one(engine), HUNG)
    assert failed is not None and transient(failed), repr(failed)


async def test_the_server_ends_a_statement_past_the_statement_timeout(database_url) -> None:
    engine = make_engine(database_url, SHORT.model_copy(update={"command": 30.0}))
    try:
        failed = await asyncio.wait_for(select_sleep(engine), HUNG)
    finally:
        await engine.dispose()
    assert failed is not None and "statement timeout" in str(failed)
    assert transient(failed)  # not a row's fault: a writer keeps its batch and retries


async def select_sleep(engine) -> Exception | None:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(5)"))
    except Exception as exc:  # noqa: BLE001
        return exc
    return None
