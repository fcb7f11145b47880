"""The ordered, batching writer (#9) without Postgres: order, batches, a failing put, drain."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.ordered_writer import OrderedWriter


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


async def test_a_batch_that_cannot_reach_postgres_is_not_retried_put_by_put() -> None:
    calls: list[Sequence[int]] = []

    async def store(session: FakeSession, items: Sequence[int]) -> None:
        calls.append(items)
        raise ConnectionRefusedError("postgres is down")

    w = OrderedWriter(lambda: FakeSession([]), store, name="test",  # type: ignore[arg-type]
                      flush_seconds=0.02)
    puts = [w.put([n]) for n in range(3)]
    await w.drain()
    assert calls == [[0, 1, 2]]  # one try, not one per put
    for put in puts:
        with pytest.raises(ConnectionRefusedError):
            await put
