"""Writes stored behind the code that made them: in the order they were put, many per transaction.

`OrderedWriter` is the mechanism shared by the ACD's agent states (`routing.state_writer`) and
the call log (`app.calls.log_writer`): one task takes what was put, waits up to `flush_seconds`
for more (or until `max_batch` items are queued), and stores the lot in one transaction with
the `store` function it was given. `put_nowait` never waits for Postgres (the call path uses
it); `put` returns a future done once its items are stored, for the few callers that must know.

Failures (R21, #15) are of two kinds, told apart by `transient`:
- Postgres could not be reached or could not take the write now (a refused or broken
  connection, a timeout, a server shutting down or starting, a read-only standby after a
  failover, a lock or statement timeout, a deadlock): no row is at fault, so the batch stays at
  the head of the queue and is tried again, whole and in order, after an exponential backoff
  (`retry_min_seconds` doubling up to `retry_max_seconds`, with jitter) until it is stored;
  what is put meanwhile queues behind it. Nothing is dropped for a connection error.
- Anything else (a bad row): the batch is retried one put at a time, each in its own
  transaction and in order, so one bad write loses only itself (logged, or handed to whoever
  awaits it) and never the later ones.

Memory is bounded: at most `max_pending` writes wait per writer (default 200,000). At the
benchmark's rate (docs/benchmarks.md: 20 calls/s; a call makes ~12-15 call-log writes and ~4-6
agent state changes) that is an outage of 11-14 minutes for the call log and 28-40 minutes for
the agent states; a pending write takes ~1 KB (the call log's) or ~0.7 KB (an agent state), so
a full writer holds ~130-200 MB. Past it new writes are refused,
never queued and never blocking: `put_nowait` logs loudly (once, then a count every 10 s) and
counts them (`hotline_writer_refused_writes_total`), `put`'s future fails with `WriterFull`.
What was accepted is kept whole and in order; refusing the newest keeps the stored history a
prefix of what happened rather than punching holes in its middle.

A caller awaiting `put` waits at most `wait_seconds` (default 5 s): then its future fails with
`NotStoredYet` (a 503 through the API) while the write stays queued and is still stored, in
order, when Postgres returns. `drain()` waits at most `drain_seconds` (default 10 s) and says
whether everything was stored; the rest stays pending. `close()` drains (bounded alike), then
logs how many writes are lost and gives them up: there is no disk spool. A spool would have to
serialise and replay every write kind ahead of what the restarted service writes, for the rare
case of a restart during an outage; after a restart the service reconciles with Asterisk and
each call carries on from its last stored state anyway.

The writers' backlog is in /metrics (`hotline_writer_pending_writes`,
`hotline_writer_oldest_pending_seconds`) and in `/ready` (`writers`: pending, oldest, behind).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from sqlalchemy import Table, bindparam, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.backoff import Backoff
from app.config import WriterSettings
from app.errors import AppError
from app.metrics import WRITER_LOST, WRITER_REFUSED, WRITER_RETRIES

log = structlog.get_logger(__name__)

T = TypeVar("T")

Store = Callable[[AsyncSession, Sequence[T]], Awaitable[None]]


class WriterFull(AppError):
    """The writer already holds `max_pending` writes that Postgres has not taken."""

    status_code = 503
    error_id = "database-backlog-full"
    message = "the database is unavailable and too many writes are waiting: this one is refused"


class NotStoredYet(AppError):
    """Not stored within `wait_seconds`: the write stays queued and is stored later, in order."""

    status_code = 503
    error_id = "database-unavailable"
    message = "the database is unavailable: the change is kept and stored when it returns"


class WriterClosed(RuntimeError):
    """The writer closed before Postgres took the write: it is lost (logged)."""


class _Put(Generic[T]):
    """Items put together, their outcome and when they were put (monotonic)."""

    __slots__ = ("items", "done", "at")

    def __init__(self, items: Sequence[T], done: asyncio.Future[None], at: float) -> None:
        self.items, self.done, self.at = items, done, at


_live: weakref.WeakSet[OrderedWriter[Any]] = weakref.WeakSet()


class OrderedWriter(Generic[T]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], store: Store[T], *,
                 name: str, flush_seconds: float = 0.0, max_batch: int = 1000,
                 limits: WriterSettings | None = None) -> None:
        if not 0 <= flush_seconds <= 1:
            raise ValueError(f"flush_seconds must be within 0..1 s, not {flush_seconds!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch!r}")
        self.sessions = sessionmaker
        self.name = name
        self.flush_seconds = flush_seconds
        self.max_batch = max_batch
        self.limits = limits or WriterSettings()
        self._store = store
        self._pending: deque[_Put[T]] = deque()
        self._queued = 0  # items in `_pending`
        self._inflight: list[_Put[T]] = []  # the batch being written
        self._inflight_items = 0
        self._full = asyncio.Event()
        self._wake = asyncio.Event()  # a drain cuts a retry's backoff short
        self._closing = False
        self._draining = 0  # drain() callers waiting: no waiting for more meanwhile
        self._task: asyncio.Task[None] | None = None
        self._backoff = Backoff(minimum=self.limits.retry_min_seconds,
                                maximum=self.limits.retry_max_seconds)
        self._refused = 0  # refused since the last log line about it
        self._refused_logged_at: float | None = None
        _live.add(self)

    # -- putting -------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Writes put and not stored yet (queued or being written)."""
        return self._queued + self._inflight_items

    @property
    def oldest_pending_seconds(self) -> float:
        """How long the oldest write not stored yet has waited (0 when none waits)."""
        oldest = self._inflight[0] if self._inflight else (
            self._pending[0] if self._pending else None)
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest.at)

    @property
    def behind(self) -> bool:
        """Whether the oldest pending write is older than `behind_seconds`."""
        return self.oldest_pending_seconds > self.limits.behind_seconds

    def put(self, items: Sequence[T]) -> asyncio.Future[None]:
        """Queue items; the future is done once they are stored, or fails: with `WriterFull`
        when refused, with `NotStoredYet` after `wait_seconds` (they stay queued), or with the
        error of a bad row."""
        loop = asyncio.get_running_loop()
        stored = self._enqueue(items)
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(self.limits.wait_seconds, _fail, waiter,
                                NotStoredYet(writer=self.name))

        def settled(done: asyncio.Future[None]) -> None:
            timer.cancel()
            _copy(done, waiter)

        stored.add_done_callback(settled)
        return waiter

    def put_nowait(self, items: Sequence[T]) -> None:
        """Queue items nobody waits for (never waits itself); a failure is logged."""
        if items:
            self._enqueue(items).add_done_callback(self._log_failure)

    def _enqueue(self, items: Sequence[T]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.pending + len(items) > self.limits.max_pending:
            self._refuse(len(items))
            done.set_exception(WriterFull(writer=self.name, pending=self.pending))
            done.exception()  # retrieved: the refusal is logged and counted here
            return done
        self._pending.append(_Put(items, done, time.monotonic()))
        self._queued += len(items)
        if self._queued >= self.max_batch:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=self.name)
        return done

    def _refuse(self, count: int) -> None:
        WRITER_REFUSED.labels(writer=self.name).inc(count)
        self._refused += count
        now = time.monotonic()
        if self._refused_logged_at is None or now - self._refused_logged_at >= 10:
            log.error("writer.full_refusing", writer=self.name, refused=self._refused,
                      pending=self.pending, max_pending=self.limits.max_pending,
                      oldest_seconds=round(self.oldest_pending_seconds, 1))
            self._refused, self._refused_logged_at = 0, now

    # -- storing -------------------------------------------------------------------------------
    async def _run(self) -> None:
        while self._pending:
            if (self.flush_seconds and self._queued < self.max_batch and not self._closing
                    and not self._draining and not self._backoff.attempt):
                self._full.clear()
                try:
                    await asyncio.wait_for(self._full.wait(), self.flush_seconds)
                except TimeoutError:
                    pass
            batch = self._take()
            try:
                left = await self._write_batch(batch)
            finally:
                self._inflight, self._inflight_items = [], 0
            if left:  # Postgres could not take them: at the head again, in order
                self._pending.extendleft(reversed(left))
                self._queued += sum(len(put.items) for put in left)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._backoff.next_delay())
                except TimeoutError:
                    pass
            elif self._backoff.attempt:
                log.info("writer.caught_up", writer=self.name, attempts=self._backoff.attempt,
                         pending=self.pending)
                self._backoff.reset()

    def _take(self) -> list[_Put[T]]:
        """The oldest puts, up to `max_batch` items (at least one put), as the batch in flight."""
        count = 0
        batch: list[_Put[T]] = []
        while self._pending:
            items = self._pending[0].items
            if batch and count + len(items) > self.max_batch:
                break
            count += len(items)
            batch.append(self._pending.popleft())
        self._queued -= count
        self._inflight, self._inflight_items = batch, count
        return batch

    async def _write_batch(self, batch: list[_Put[T]]) -> list[_Put[T]]:
        """Store the batch; what is left to try again (Postgres could not be reached)."""
        try:
            await self._write([item for put in batch for item in put.items])
        except Exception as exc:  # noqa: BLE001 - kept, or retried put by put below
            if transient(exc):
                self._unreachable(exc, batch)
                return batch
            log.warning("writer.batch_failed", writer=self.name, puts=len(batch),
                        error=repr(exc))
        else:
            for put in batch:
                _resolve(put.done)
            return []
        return await self._one_by_one(batch)

    async def _one_by_one(self, batch: list[_Put[T]]) -> list[_Put[T]]:
        for n, put in enumerate(batch):
            try:
                await self._write(put.items)
            except Exception as exc:  # noqa: BLE001 - to whoever waits, or logged
                if transient(exc):
                    self._unreachable(exc, batch[n:])
                    return batch[n:]
                WRITER_LOST.labels(writer=self.name).inc(len(put.items))
                _fail(put.done, exc)
            else:
                _resolve(put.done)
        return []

    def _unreachable(self, exc: BaseException, kept: list[_Put[T]]) -> None:
        WRITER_RETRIES.labels(writer=self.name).inc()
        (log.error if not self._backoff.attempt else log.warning)(
            "writer.postgres_unreachable", writer=self.name, attempt=self._backoff.attempt + 1,
            kept=sum(len(put.items) for put in kept), pending=self.pending,
            oldest_seconds=round(self.oldest_pending_seconds, 1), error=repr(exc))

    async def _write(self, items: Sequence[T]) -> None:
        async with self.sessions() as session, session.begin():
            await self._store(session, items)

    # -- draining and closing ------------------------------------------------------------------
    async def drain(self, timeout: float | None = None) -> bool:
        """Store what is queued now (not after the flush interval) and wait until it is, or
        `timeout` (default `drain_seconds`) has passed; whether everything put before was
        stored (or failed for a bad row). What is left stays pending."""
        last = self._pending[-1] if self._pending else (
            self._inflight[-1] if self._inflight else None)
        if last is None:
            return True
        self._draining += 1
        self._full.set()
        self._wake.set()
        try:  # puts are settled in order: the last one settled means all were
            await asyncio.wait([last.done], timeout=(
                self.limits.drain_seconds if timeout is None else timeout))
        finally:
            self._draining -= 1
        if not last.done.done():
            log.warning("writer.drain_timed_out", writer=self.name, pending=self.pending,
                        oldest_seconds=round(self.oldest_pending_seconds, 1))
            return False
        return True

    async def close(self, timeout: float | None = None) -> None:
        """Store what is queued (on shutdown), waiting at most `timeout` (default
        `drain_seconds`); what Postgres could not take by then is logged as lost."""
        self._closing = True  # no waiting for more
        self._full.set()
        if await self.drain(timeout):
            return
        lost = list(self._inflight) + list(self._pending)
        count = self.pending
        log.error("writer.lost_on_close", writer=self.name, writes=count,
                  oldest_seconds=round(self.oldest_pending_seconds, 1))
        WRITER_LOST.labels(writer=self.name).inc(count)
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=self.limits.drain_seconds)
        self._pending.clear()
        self._queued = 0
        self._inflight, self._inflight_items = [], 0
        for put in lost:
            _fail(put.done, WriterClosed(f"{self.name} closed with Postgres unreachable"))

    def _log_failure(self, done: asyncio.Future[None]) -> None:
        if done.cancelled() or (exc := done.exception()) is None or isinstance(exc, WriterFull):
            return  # refusals are logged (rate-limited) and counted where they happen
        log.error("writer.not_stored", writer=self.name, error=repr(exc))


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _fail(done: asyncio.Future[None], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)


def _copy(source: asyncio.Future[None], target: asyncio.Future[None]) -> None:
    if source.cancelled():
        target.cancel()
    elif (exc := source.exception()) is not None:
        _fail(target, exc)
    else:
        _resolve(target)


async def update_rows(session: AsyncSession, table: Table,
                      rows: dict[Any, dict[str, Any]]) -> None:
    """Update rows by id to their merged new values: one executemany per set of columns."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in rows.items():
        by_columns.setdefault(tuple(sorted(values)), []).append({"_row_id": row_id, **values})
    for params in by_columns.values():
        await session.execute(update(table).where(table.c.id == bindparam("_row_id")), params)


# SQLSTATEs that say "not now" rather than "not this row": classes 08 connection exception,
# 53 insufficient resources (too many connections, disk full, out of memory), 57 operator
# intervention (statement timeout, admin shutdown, crash shutdown, cannot connect now),
# 58 system error (I/O); and serialization failure, deadlock, lock timeout, and a read-only
# transaction (a standby that a failover has not promoted yet).
_TRANSIENT_CLASSES = frozenset({"08", "53", "57", "58"})
_TRANSIENT_STATES = frozenset({"40001", "40P01", "55P03", "25006"})


def transient(exc: BaseException) -> bool:
    """Postgres could not be reached or could not take the write now: no row is at fault.

    True for OSError (ConnectionError, refused, reset, unreachable host), TimeoutError (asyncpg's
    connect and command timeouts), SQLAlchemy's pool timeout, a DBAPIError whose connection
    SQLAlchemy invalidated (a disconnect), and an error carrying one of the SQLSTATEs above
    (asyncpg's `PostgresConnectionError` family is class 08), looked for through SQLAlchemy's
    wrapping (`orig`) and explicit causes."""
    seen: set[int] = set()
    for e in _chain(exc, seen):
        if isinstance(e, (OSError, TimeoutError, PoolTimeout)):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and (state[:2] in _TRANSIENT_CLASSES
                                       or state in _TRANSIENT_STATES):
            return True
    return False


def _chain(exc: BaseException | None, seen: set[int]) -> Iterator[BaseException]:
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException):
            yield from _chain(orig, seen)
        exc = exc.__cause__


def writers() -> Iterable[OrderedWriter[Any]]:
    """The writers alive in this process (for /metrics and /ready)."""
    return list(_live)


def backlog() -> dict[str, dict[str, Any]]:
    """Each writer's backlog by name: writes pending, the oldest one's age, whether behind."""
    out: dict[str, dict[str, Any]] = {}
    for w in writers():
        entry = out.setdefault(w.name, {"pending": 0, "oldest_seconds": 0.0, "behind": False})
        entry["pending"] += w.pending
        entry["oldest_seconds"] = round(max(entry["oldest_seconds"], w.oldest_pending_seconds), 3)
        entry["behind"] = entry["behind"] or w.behind
    return out


class _BacklogCollector:
    """The writers' backlog, read when /metrics is scraped (nothing on the write path)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pending = GaugeMetricFamily(
            "hotline_writer_pending_writes",
            "Writes put and not yet stored by a write-behind writer (R21: kept during an outage)",
            labels=["writer"])
        oldest = GaugeMetricFamily(
            "hotline_writer_oldest_pending_seconds",
            "Age of the oldest write a write-behind writer has not stored yet", labels=["writer"])
        for name, entry in sorted(backlog().items()):
            pending.add_metric([name], entry["pending"])
            oldest.add_metric([name], entry["oldest_seconds"])
        yield pending
        yield oldest

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


REGISTRY.register(_BacklogCollector())  # type: ignore[arg-type]
