"""Per-call ordering: one call's events in order, calls in parallel, failures contained."""

from __future__ import annotations

import asyncio
import random

from app.concurrency import KeyedDispatcher


async def test_events_of_one_call_run_in_order_while_calls_interleave():
    seen: dict[str, list[int]] = {}
    running: dict[str, int] = {}
    overlap_within_call = False
    max_parallel = 0
    rng = random.Random(1)

    async def handler(key, n):
        nonlocal overlap_within_call, max_parallel
        running[key] = running.get(key, 0) + 1
        if running[key] > 1:
            overlap_within_call = True
        max_parallel = max(max_parallel, sum(1 for v in running.values() if v))
        await asyncio.sleep(rng.random() / 1000)
        seen.setdefault(key, []).append(n)
        running[key] -= 1

    dispatcher = KeyedDispatcher(handler)
    items = [(f"call-{c}", n) for n in range(20) for c in range(30)]
    for key, n in items:
        dispatcher.submit(key, n)
    await dispatcher.drain()
    assert all(seq == list(range(20)) for seq in seen.values()) and len(seen) == 30
    assert not overlap_within_call
    assert max_parallel > 1  # different calls did run side by side
    assert dispatcher.active_keys == 0  # idle workers are gone


async def test_a_failing_event_does_not_stop_the_calls_later_events():
    handled = []

    async def handler(key, n):
        if n == 1:
            raise RuntimeError("boom")
        handled.append(n)

    dispatcher = KeyedDispatcher(handler)
    for n in range(4):
        dispatcher.submit("call", n)
    await dispatcher.drain()
    assert handled == [0, 2, 3]


async def test_items_submitted_while_a_call_is_busy_are_queued_behind():
    order = []
    gate = asyncio.Event()

    async def handler(key, n):
        if n == 0:
            await gate.wait()
        order.append(n)

    dispatcher = KeyedDispatcher(handler)
    dispatcher.submit("c", 0)
    await asyncio.sleep(0)
    dispatcher.submit("c", 1)
    dispatcher.submit("c", 2)
    gate.set()
    await dispatcher.drain()
    assert order == [0, 1, 2]
