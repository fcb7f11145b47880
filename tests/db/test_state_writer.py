"""Agents' state changes written behind the ACD (#9): one batch keeps the history in order and
leaves each agent's row as its last change did (R19); while Postgres is unreachable the changes
wait and are stored in order when it returns (R21, #15)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.config import WriterSettings
from app.db import make_sessionmaker
from app.ordered_writer import NotStoredYet
from routing.models import AgentRow, AgentStateChange
from routing.state_writer import StateChange, StateWriter
from tests.support.pg_proxy import proxied_engine

pytestmark = pytest.mark.committing

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def two_agents(sessionmaker) -> tuple[AgentRow, AgentRow]:
    async with sessionmaker() as session, session.begin():
        a = AgentRow(name="a", extension="201", level="intermediate", skills={}, languages=["zh"],
                     contact="sip:a@127.0.0.1:5090", state="logged_out", state_since=T0)
        b = AgentRow(name="b", extension="202", level="intermediate", skills={}, languages=["zh"],
                     contact="sip:b@127.0.0.1:5091", state="ready", state_since=T0,
                     ready_since=T0)
        session.add_all([a, b])
    return a, b


async def test_a_batch_keeps_the_order_and_each_agent_row_ends_as_its_last_change(
        sessionmaker) -> None:
    a, b = await two_agents(sessionmaker)
    t = [T0 + timedelta(seconds=n) for n in range(1, 5)]
    writer = StateWriter(sessionmaker)
    writer.put([StateChange(a.id, t[0], "logged_out", "ready", "login", None, None, 0),
                StateChange(b.id, t[1], "ready", "paused", "pause", "break", None, 0),
                StateChange(a.id, t[2], "ready", "ringing", "offer", None, None, 0),
                StateChange(b.id, t[3], "paused", "logged_out", "logout", None, None, 2)])
    await writer.close()
    async with sessionmaker() as session:
        history = (await session.scalars(
            select(AgentStateChange).order_by(AgentStateChange.id))).all()
        assert [(h.agent_id, h.to_state, h.at) for h in history] == [
            (a.id, "ready", t[0]), (b.id, "paused", t[1]), (a.id, "ringing", t[2]),
            (b.id, "logged_out", t[3])]
        row_a, row_b = await session.get(AgentRow, a.id), await session.get(AgentRow, b.id)
        # a: ringing since t2, ready since its login (t0) kept; b: logged out, no longer ready
        assert (row_a.state, row_a.state_since, row_a.ready_since) == ("ringing", t[2], t[0])
        assert (row_b.state, row_b.state_reason, row_b.ready_since, row_b.misses_in_a_row) == (
            "logged_out", None, None, 2)


async def test_changes_made_while_postgres_is_unreachable_are_stored_in_order_when_it_returns(
        sessionmaker, database_url) -> None:
    a, b = await two_agents(sessionmaker)
    t = [T0 + timedelta(seconds=n) for n in range(1, 7)]
    changes = [StateChange(a.id, t[0], "logged_out", "ready", "login", None, None, 0),
               StateChange(b.id, t[1], "ready", "paused", "pause", "break", None, 0),
               StateChange(a.id, t[2], "ready", "ringing", "offer", None, None, 0),
               StateChange(a.id, t[3], "ringing", "on_call", "answer", None, None, 0),
               StateChange(b.id, t[4], "paused", "ready", "ready", None, None, 0),
               StateChange(a.id, t[5], "on_call", "wrap_up", "call_ended", None, None, 0)]
    limits = WriterSettings(retry_min_seconds=0.02, retry_max_seconds=0.1, wait_seconds=0.1,
                            drain_seconds=20.0)
    async with proxied_engine(database_url) as (engine, proxy):
        writer = StateWriter(make_sessionmaker(engine), limits=limits)
        await writer.put(changes[:1])
        proxy.cut()
        for change in changes[1:5]:
            writer.put_nowait([change])
            await asyncio.sleep(0.05)  # the writer tries, fails and keeps them meanwhile
        with pytest.raises(NotStoredYet):  # an agent's own request stops waiting...
            await writer.put(changes[5:])
        assert writer.pending == 5
        proxy.restore()
        assert await writer.drain()  # ...and its change is stored all the same, in order
        await writer.close()
    async with sessionmaker() as session:
        history = (await session.scalars(
            select(AgentStateChange).order_by(AgentStateChange.id))).all()
        assert [(h.agent_id, h.to_state, h.at) for h in history] == [
            (c.agent_id, c.to_state, c.at) for c in changes]
        row_a, row_b = await session.get(AgentRow, a.id), await session.get(AgentRow, b.id)
        assert (row_a.state, row_a.state_since) == ("wrap_up", t[5])
        assert (row_b.state, row_b.state_since) == ("ready", t[4])
