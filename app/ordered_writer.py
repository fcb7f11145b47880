"""Writes stored behind the code that made them: in the order they were put, many per transaction.

`OrderedWriter` is the mechanism shared by the ACD's agent states (`routing.state_writer`) and
the call log (`app.calls.log_writer`): one task takes what was put, waits up to `flush_seconds`
for more (or until `max_batch` items are queued), and stores the lot in one transaction with
the `store` function it was given. A put's future is done once its items are stored, so a
caller that must know can await it; everybody else puts and moves on.

A batch that fails is retried one put at a time, each in its own transaction and in the same
order, so one bad row loses only its own put (logged, or handed to whoever awaits it) and never
the later ones; a batch that failed because Postgres could not be reached is not retried (each
put would wait for the connection in turn): its puts fail, the next batch tries again.
Whatever is still queued when the process dies is lost: at most the last `flush_seconds` and
the batch being written. `drain()` stores what is queued at once and waits until it is;
`close()` drains.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import Table, bindparam, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = structlog.get_logger(__name__)

T = TypeVar("T")

Store = Callable[[AsyncSession, Sequence[T]], Awaitable[None]]


class OrderedWriter(Generic[T]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: Store[T], *,
                 name: str, flush_seconds: float = 0.0, max_batch: int = 1000) -> None:
        if not 0 <= flush_seconds <= 1:
            raise ValueError(f"flush_seconds must be within 0..1 s, not {flush_seconds!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch!r}")
        self.sessions = sessionmaker
        self.name = name
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self._store = store
        self._pending: list[tuple[Sequence[T], asyncio.Future[None]]] = []
        self._queued = 0  # items in `_pending`
        self._full = asyncio.Event()
        self._closing = False
        self._draining = 0  # drain() callers waiting: no waiting for more meanwhile
        self._task: asyncio.Task[None] | None = None

    def put(self, items: Sequence[T]) -> asyncio.Future[None]:
        """Queue items; the future is done once they are stored (or failed to be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((items, done))
        self._queued += len(items)
        if self._queued >= self.max_batch:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)
        return done

    def put_nowait(self, items: Sequence[T]) -> None:
        """Queue items nobody waits for; a failure is logged."""
        if items:
            self.put(items).add_done_callback(self._log_failure)

    async def _run(self) -> None:
        while self._pending:
            if (self.flush_seconds and self._queued < self.max_batch and not self._closing
                    and not self._draining):
                self._full.clear()
                try:
                    await asyncio.wait_for(self._full.wait(), self.flush_seconds)
                except TimeoutError:
                    pass
            batch = self._take()
            try:
                await self._write([item for items, _ in batch for item in items])
            except Exception as exc:  # noqa: BLE001 - retried put by put below
                log.warning("writer.batch_failed", writer=self.name, puts=len(batch),
                            error=repr(exc))
                if _unreachable(exc):  # no row is at fault: put by put would fail alike
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                await self._one_by_one(batch)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _take(self) -> list[tuple[Sequence[T], asyncio.Future[None]]]:
        """The oldest puts, up to `max_batch` items (at least one put)."""
        count = taken = 0
        for items, _ in self._pending:
            if taken and count + len(items) > self.max_batch:
                break
            count += len(items)
            taken += 1
        batch, self._pending = self._pending[:taken], self._pending[taken:]
        self._queued -= count
        return batch

    async def _one_by_one(self, batch: list[tuple[Sequence[T], asyncio.Future[None]]]) -> None:
        for items, done in batch:
            try:
                await self._write(items)
            except Exception as exc:  # noqa: BLE001 - to whoever waits, or logged
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(None)

    async def _write(self, items: Sequence[T]) -> None:
        async with self.sessions() as session, session.begin():
            await self._store(session, items)

    async def drain(self) -> None:
        """Store what is queued now (not after the flush interval) and wait until it is."""
        self._draining += 1
        self._full.set()
        try:
            while self._task is not None and not self._task.done():
                await asyncio.shield(self._task)
        finally:
            self._draining -= 1

    async def close(self) -> None:
        """Store what is queued (on shutdown)."""
        self._closing = True  # no waiting for more
        self._full.set()
        await self.drain()

    def _log_failure(self, done: asyncio.Future[None]) -> None:
        if not done.cancelled() and (exc := done.exception()) is not None:
            log.error("writer.not_stored", writer=self.name, error=repr(exc))


async def update_rows(session: AsyncSession, table: Table,
                      rows: dict[Any, dict[str, Any]]) -> None:
    """Update rows by id to their merged new values: one executemany per set of columns."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in rows.items():
        by_columns.setdefault(tuple(sorted(values)), []).append({"_row_id": row_id, **values})
    for params in by_columns.values():
        await session.execute(update(table).where(table.c.id == bindparam("_row_id")), params)


def _unreachable(exc: BaseException) -> bool:
    """Postgres could not be reached or the connection broke (not a row's fault)."""
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, (OSError, TimeoutError))
