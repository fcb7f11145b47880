"""The ordered, batching writer without Postgres: order, batches, a failing put, drain (#9);
Postgres unreachable for a while: nothing lost, order kept, memory bounded (R21, #15)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncpg
import pytest
from prometheus_client import generate_latest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.config import WriterSettings
from app.ordered_writer import (NotStoredYet, OrderedWriter, WriterClosed, WriterFull, backlog,
                                transient)


class FakeSession:
    """A session whose transaction keeps what `store` wrote only if the block ends cleanly."""

    def __init__(self, stored: list[list[int]]) -> None:
        self.stored, self.written = stored, []

    async def __aenter__(self) -> FakeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def begin(self) -> FakeTransaction:
        return FakeTransaction(self)


class FakeTransaction:
    def __init__(self, session: FakeSession) -> None:
        self.session = session

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, *exc: object) -> None:
        if kind is None:
            self.session.stored.append(self.session.written)


def writer(*, flush_seconds: float = 0.0, max_batch: int = 1000, bad: int | None = None,
           ) -> tuple[OrderedWriter[int], list[list[int]]]:
    """A writer of ints; a batch holding `bad` fails."""
    stored: list[list[int]] = []

    async def store(session: FakeSession, items: Sequence[int]) -> None:
        await asyncio.sleep(0)
        if bad in items:
            raise RuntimeError(f"cannot store {bad}")
        session.written = list(items)

    return OrderedWriter(lambda: FakeSession(stored), store, name="test",  # type: ignore[arg-type]
                         flush_seconds=flush_seconds, max_batch=max_batch), stored


async def test_what_is_put_meanwhile_goes_into_one_transaction_in_order() -> None:
    w, stored = writer(flush_seconds=0.05)
    for n in range(5):
        w.put_nowait([n, n + 10])
    await asyncio.sleep(0.1)
    assert stored == [[0, 10, 1, 11, 2, 12, 3, 13, 4, 14]]


async def test_a_full_batch_does_not_wait_for_the_interval() -> None:
    w, stored = writer(flush_seconds=0.5, max_batch=4)
    for n in range(10):
        w.put_nowait([n])
    await asyncio.sleep(0.05)
    assert stored == [[0, 1, 2, 3], [4, 5, 6, 7]]  # the last two wait for the interval
    await w.drain()  # or for a drain
    assert stored[-1] == [8, 9]


async def test_a_failed_batch_is_retried_put_by_put() -> None:
    w, stored = writer(flush_seconds=0.02, bad=2)
    before, failing, after = w.put([1]), w.put([2]), w.put([3])
    await w.drain()
    assert stored == [[1], [3]]  # nothing lost but the bad put
    await before
    await after
    with pytest.raises(RuntimeError, match="cannot store 2"):
        await failing
    w.put_nowait([4])  # and the writer goes on
    await w.drain()
    assert stored[-1] == [4]


async def test_close_stores_at_once() -> None:
    w, stored = writer(flush_seconds=1.0)
    w.put_nowait([1])
    await asyncio.wait_for(w.close(), 0.5)
    assert stored == [[1]]


@pytest.mark.parametrize("kwargs", [{"flush_seconds": -0.1}, {"flush_seconds": 2},
                                    {"max_batch": 0}])
def test_settings_are_checked(kwargs) -> None:
    async def store(session, items) -> None: ...

    with pytest.raises(ValueError):
        OrderedWriter(lambda: None, store, name="test", **kwargs)  # type: ignore[arg-type]


class Postgres:
    """A fake store: refuses connections while `down` (or for the next `fail` tries), goes
    away once when asked to store exactly `drop_once`, fails a batch holding `bad` like a bad
    row, and keeps every stored batch in order."""

    def __init__(self, *, fail: int = 0, bad: int | None = None,
                 drop_once: list[int] | None = None) -> None:
        self.fail, self.bad, self.down, self.drop_once = fail, bad, False, drop_once
        self.tries: list[list[int]] = []
        self.stored: list[list[int]] = []

    async def store(self, session: FakeSession, items: Sequence[int]) -> None:
        await asyncio.sleep(0)
        self.tries.append(list(items))
        if self.down or self.fail > 0:
            self.fail -= 1
            raise ConnectionRefusedError("postgres is down")
        if self.drop_once == list(items):
            self.drop_once = None
            raise ConnectionResetError("postgres went away")
        if self.bad in items:
            raise ValueError(f"bad row {self.bad}")
        session.written = list(items)

    @property
    def flat(self) -> list[int]:
        return [item for batch in self.stored for item in batch]


# Short retries and waits, so that an outage of seconds is over in milliseconds.
FAST = WriterSettings(retry_min_seconds=0.01, retry_max_seconds=0.05, wait_seconds=0.2,
                      drain_seconds=2.0, behind_seconds=0.05)


def flaky_writer(pg: Postgres, *, name: str = "test", max_batch: int = 1000,
                 limits: WriterSettings = FAST) -> OrderedWriter[int]:
    return OrderedWriter(lambda: FakeSession(pg.stored), pg.store,  # type: ignore[arg-type]
                         name=name, flush_seconds=0.01, max_batch=max_batch, limits=limits)


async def test_a_batch_that_cannot_reach_postgres_is_kept_and_stored_when_it_returns() -> None:
    pg = Postgres(fail=3)
    w = flaky_writer(pg)
    puts = [w.put([n]) for n in range(3)]
    assert await w.drain()
    assert pg.stored == [[0, 1, 2]]  # whole, in order, once
    assert pg.tries == [[0, 1, 2]] * 4  # tried whole each time, never put by put
    for put in puts:
        await put  # each caller learns it is stored


async def test_what_is_put_during_an_outage_queues_behind_it_in_order() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg, max_batch=4)
    for n in range(10):
        w.put_nowait([n])
        await asyncio.sleep(0.005)  # the writer tries (and fails) meanwhile
    assert pg.stored == [] and w.pending == 10
    pg.down = False
    assert await w.drain()
    assert pg.flat == list(range(10)) and w.pending == 0
    assert all(len(batch) <= 4 for batch in pg.stored)


async def test_a_bad_row_still_loses_only_itself_after_an_outage() -> None:
    pg = Postgres(fail=2, bad=2)
    w = flaky_writer(pg)
    puts = [w.put([n]) for n in range(4)]
    assert await w.drain()
    assert pg.stored == [[0], [1], [3]]
    with pytest.raises(ValueError, match="bad row 2"):
        await puts[2]


async def test_postgres_going_away_while_retrying_put_by_put_keeps_the_rest() -> None:
    pg = Postgres(bad=1, drop_once=[2])
    w = flaky_writer(pg)
    for n in range(4):
        w.put_nowait([n])
    assert await w.drain()
    assert pg.flat == [0, 2, 3]  # 1 was bad; 2 and 3 waited for Postgres and were stored
    assert pg.tries[:5] == [[0, 1, 2, 3], [0], [1], [2], [2, 3]]  # then the rest as a batch


async def test_past_the_bound_new_writes_are_refused_and_counted_never_queued() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg, name="test-bound", limits=FAST.model_copy(update={"max_pending": 5}))
    for n in range(5):
        w.put_nowait([n])
    w.put_nowait([5])  # refused: logged and counted, the call path goes on
    with pytest.raises(WriterFull):
        await w.put([6])
    assert w.pending == 5
    assert b'hotline_writer_refused_writes_total{writer="test-bound"} 2.0' in generate_latest()
    pg.down = False
    assert await w.drain()
    assert pg.flat == [0, 1, 2, 3, 4]  # what was accepted, whole and in order
    w.put_nowait([7])  # room again
    assert await w.drain()
    assert pg.flat[-1] == 7


async def test_an_awaited_put_stops_waiting_but_its_write_is_still_stored_in_order() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg)
    w.put_nowait([0])
    with pytest.raises(NotStoredYet):
        await asyncio.wait_for(w.put([1]), 5)  # wait_seconds (0.2 s), not forever
    w.put_nowait([2])
    pg.down = False
    assert await w.drain()
    assert pg.flat == [0, 1, 2]


async def test_drain_during_an_outage_returns_and_leaves_the_writes_pending() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg)
    w.put_nowait([0, 1])
    assert await asyncio.wait_for(w.drain(timeout=0.1), 5) is False
    assert w.pending == 2 and pg.stored == []
    pg.down = False
    assert await w.drain()
    assert pg.flat == [0, 1]


async def test_close_during_an_outage_gives_up_and_counts_the_lost_writes() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg, name="test-close")
    waiting = asyncio.ensure_future(w.put([0]))
    w.put_nowait([1, 2])
    await asyncio.wait_for(w.close(timeout=0.1), 5)
    assert w.pending == 0 and pg.stored == []
    with pytest.raises(WriterClosed):
        await waiting
    assert b'hotline_writer_lost_writes_total{writer="test-close"} 3.0' in generate_latest()


async def test_the_backlog_is_in_the_metrics_and_says_when_a_writer_is_behind() -> None:
    pg = Postgres()
    pg.down = True
    w = flaky_writer(pg, name="test-backlog")
    w.put_nowait([0, 1, 2])
    await asyncio.sleep(0.1)  # older than behind_seconds (0.05 s)
    entry = backlog()["test-backlog"]
    assert entry["pending"] == 3 and entry["oldest_seconds"] > 0 and entry["behind"]
    scraped = generate_latest()
    assert b'hotline_writer_pending_writes{writer="test-backlog"} 3.0' in scraped
    assert b'hotline_writer_oldest_pending_seconds{writer="test-backlog"}' in scraped
    pg.down = False
    assert await w.drain()
    assert backlog()["test-backlog"] == {"pending": 0, "oldest_seconds": 0.0, "behind": False}


def _wrapped(orig: Exception, kind: type[DBAPIError] = OperationalError, **kw) -> DBAPIError:
    try:
        raise kind("INSERT ...", {}, orig, **kw) from orig
    except DBAPIError as exc:
        return exc


class Adapted(Exception):
    """Like SQLAlchemy's asyncpg adaptation of an error: the SQLSTATE as `pgcode`."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(pgcode)
        self.pgcode = pgcode


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "refused"), ConnectionResetError(), OSError(113, "no route"),
    TimeoutError(), PoolTimeout("QueuePool limit reached"),
    asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.TooManyConnectionsError("too many clients"),
    asyncpg.exceptions.ReadOnlySQLTransactionError("read-only transaction"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock"),
    _wrapped(Adapted("57P01")), _wrapped(Adapted("08006")),
    _wrapped(Exception("connection is closed"), DBAPIError, connection_invalidated=True),
    _wrapped(asyncpg.exceptions.LockNotAvailableError("lock timeout")),
], ids=repr)
def test_postgres_unreachable_or_busy_is_transient(exc: BaseException) -> None:
    assert transient(exc)


@pytest.mark.parametrize("exc", [
    ValueError("bad"), RuntimeError("bug"),
    asyncpg.exceptions.UniqueViolationError("duplicate key"),
    asyncpg.exceptions.ForeignKeyViolationError("no such call"),
    _wrapped(Adapted("23503"), IntegrityError), _wrapped(Adapted("22001")),
    asyncpg.exceptions.InterfaceError("the server expects 3 arguments, 2 were passed"),
], ids=repr)
def test_a_bad_row_is_not_transient(exc: BaseException) -> None:
    assert not transient(exc)
