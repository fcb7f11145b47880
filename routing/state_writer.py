"""Agents' state changes (R19) stored in the order the ACD made them, off the ACD's hot path.

The ACD changes an agent's state in memory under its lock and hands the change here; one task
writes changes in arrival order, and whatever queued up meanwhile goes into one transaction.
Nothing the ACD does waits for it (#9: queue-to-ring latency; R21: an agent's own request is
answered from memory too); every later write of the same agent comes after the earlier ones.
The batching and ordering are `app.ordered_writer`'s, and so is what happens while Postgres
cannot be reached (R21, #15): the changes wait in memory, in order, and are stored when it
returns, so the history (R19's busy/idle reports) is whole afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import WriterSettings
from app.ordered_writer import OrderedWriter, update_rows
from routing import service
from routing.models import AgentRow, AgentStateChange


@dataclass(frozen=True)
class StateChange:
    """One agent state change, made in memory, to be stored."""

    agent_id: uuid.UUID
    at: datetime
    from_state: str
    to_state: str
    event: str
    reason: str | None
    call_id: uuid.UUID | None
    misses_in_a_row: int


class StateWriter(OrderedWriter[StateChange]):
    """Stores agents' state changes at once (no flush delay: an agent's own request waits for
    it), whatever queued up meanwhile in one transaction (`app.ordered_writer`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 limits: WriterSettings | None = None) -> None:
        super().__init__(sessionmaker, _store, name="agent-state-writer", limits=limits)


async def _store(session: AsyncSession, changes: Sequence[StateChange]) -> None:
    """The history rows in order (one executemany), then each agent's row as its last change
    left it (`routing.service.record_state_change`'s values, merged in order)."""
    await session.execute(insert(AgentStateChange.__table__), [
        dict(agent_id=c.agent_id, at=c.at, from_state=str(c.from_state), to_state=str(c.to_state),
             event=c.event, reason=c.reason, call_id=c.call_id) for c in changes])
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for c in changes:
        rows.setdefault(c.agent_id, {}).update(service.state_row_values(
            at=c.at, to_state=str(c.to_state), reason=c.reason, misses_in_a_row=c.misses_in_a_row))
    await update_rows(session, AgentRow.__table__, rows)
