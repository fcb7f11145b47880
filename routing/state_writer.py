"""Agents' state changes (R19) stored in the order the ACD made them, off the ACD's hot path.

The ACD changes an agent's state in memory under its lock and hands the change here; one task
writes changes in arrival order, and whatever queued up meanwhile goes into one transaction.
An offer therefore goes out without waiting for Postgres (#9: queue-to-ring latency), while a
caller that must know the change is stored (an agent's own request) awaits it; every later
write of the same agent comes after it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from routing import service

log = structlog.get_logger(__name__)


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


class StateWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessionmaker
        self._pending: list[tuple[list[StateChange], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    def put(self, changes: list[StateChange]) -> asyncio.Future[None]:
        """Queue changes; the future is done once they are stored (or failed to be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((changes, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="agent-state-writer")
        return done

    def put_nowait(self, changes: list[StateChange]) -> None:
        """Queue changes nobody waits for; a failure is logged."""
        if changes:
            self.put(changes).add_done_callback(_log_failure)

    async def _run(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.sessions() as session, session.begin():
                    for changes, _ in batch:
                        for c in changes:
                            await service.record_state_change(
                                session=session, agent_id=c.agent_id, at=c.at,
                                from_state=c.from_state, to_state=c.to_state, event=c.event,
                                reason=c.reason, call_id=c.call_id,
                                misses_in_a_row=c.misses_in_a_row)
            except Exception as exc:  # noqa: BLE001 - handed to whoever waits, or logged
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def drain(self) -> None:
        """Wait until everything queued is stored."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("acd.state_not_stored", error=repr(exc))
