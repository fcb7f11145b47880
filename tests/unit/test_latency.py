"""Event-to-action latency (#9): the first ARI request of an event's handling is measured once,
and nothing outside an event's handling is."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from app import latency


def _count(event: str) -> tuple[float, float]:
    """(sum, count) of the histogram for one event type."""
    def value(suffix: str) -> float:
        return REGISTRY.get_sample_value(f"hotline_event_to_action_seconds_{suffix}",
                                         {"event": event}) or 0.0
    return value("sum"), value("count")


def test_the_first_request_of_an_event_is_its_action_and_later_ones_are_not():
    now = iter([10.0, 10.004, 10.009]).__next__
    before_sum, before_n = _count("TestEventA")
    with latency.handling("TestEventA", 10.0 - 0.001, now):
        assert latency.received() == 9.999
        latency.acted()
        latency.acted()
    after_sum, after_n = _count("TestEventA")
    assert after_n - before_n == 1
    assert abs((after_sum - before_sum) - 0.001) < 1e-9


async def test_a_task_started_during_an_event_does_not_measure_it_once_outside():
    before = _count("TestEventB")[1]
    started: list[asyncio.Task] = []
    go = asyncio.Event()

    async def other_call() -> None:  # another call's worker, started from this event's context
        await go.wait()
        with latency.outside():
            latency.acted()

    with latency.handling("TestEventB", 0.0, lambda: 0.002):
        started.append(asyncio.create_task(other_call()))
        await asyncio.sleep(0)
        go.set()
        await started[0]
        assert _count("TestEventB")[1] == before  # not measured by the other call's request
        latency.acted()
    assert _count("TestEventB")[1] == before + 1
    latency.acted()  # outside any event: nothing
    assert _count("TestEventB")[1] == before + 1
