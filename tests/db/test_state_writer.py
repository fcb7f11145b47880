"""Agents' state changes written behind the ACD (#9): one batch keeps the history in order and
leaves each agent's row as its last change did (R19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from routing.models import AgentRow, AgentStateChange
from routing.state_writer import StateChange, StateWriter

pytestmark = pytest.mark.committing

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_a_batch_keeps_the_order_and_each_agent_row_ends_as_its_last_change(
        sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        a = AgentRow(name="a", extension="201", level="intermediate", skills={}, languages=["zh"],
                     contact="sip:a@127.0.0.1:5090", state="logged_out", state_since=T0)
        b = AgentRow(name="b", extension="202", level="intermediate", skills={}, languages=["zh"],
                     contact="sip:b@127.0.0.1:5091", state="ready", state_since=T0,
                     ready_since=T0)
        session.add_all([a, b])
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
