"""The ARI websocket drops mid-call: the client reconnects with backoff, reconciles with
GET /channels, and the call record still ends up complete."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from phones.sipp import Caller, keys
from tests.e2e.conftest import prompt_ms, ts, wait_for_call

pytestmark = pytest.mark.asterisk


async def wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_a_call_that_ends_while_the_stream_is_down_is_closed_as_lost_track(
        service, place_call, ari_proxy):
    stream = service.app.state.stream
    connects = stream.connect_count
    caller = asyncio.create_task(place_call(Caller(number="13822220001", hangup_after_ms=3000)))
    await wait_for_call(service, "13822220001", ended=False)
    ari_proxy.cut()
    cut_at = datetime.now(UTC)
    await wait_until(lambda: _not(stream.connected))
    ready = await service.get("/ready")
    assert ready.status_code == 503 and ready.json()["asterisk"].startswith("unavailable")
    result = await caller  # the caller hangs up while we cannot see it
    assert result.ok, result.output + result.errors
    restored_at = datetime.now(UTC)
    ari_proxy.restore()
    call = await wait_for_call(service, "13822220001", timeout=20)
    assert stream.connect_count > connects
    assert (call["end_reason"], call["hangup_by"]) == ("lost_track", None)
    assert ts(call["answered_at"]) <= ts(call["ended_at"]) <= restored_at
    assert ts(call["ended_at"]) >= cut_at.replace(microsecond=0)  # last seen: when the stream dropped
    assert call["timeline"][-1]["trigger"] == "lost_track"
    assert (await service.get("/ready")).status_code == 200


async def test_a_live_call_is_reattached_after_a_drop_and_completes(
        service, place_call, ari_proxy):
    stream = service.app.state.stream
    greeting = prompt_ms(service, "greeting")
    # The caller presses 0 once the main menu (which we only reach after reconciling) plays.
    caller = asyncio.create_task(place_call(Caller(
        number="13822220002", script=keys("0", first_after_ms=greeting + 4000))))
    call = await wait_for_call(service, "13822220002", ended=False)
    assert call["state"] in ("answered", "in_ivr")
    ari_proxy.cut()
    # Stay away until the greeting has finished: its PlaybackFinished is lost for good.
    await asyncio.sleep(greeting / 1000 + 1)
    ari_proxy.restore()
    await wait_until(lambda: _is(stream.connected))
    result = await caller
    assert result.ok, result.output + result.errors
    assert result.hung_up_by_remote
    call = await wait_for_call(service, "13822220002", timeout=30)
    assert (call["end_reason"], call["hangup_by"]) == ("overflow", "system")
    path = [(s["node"], s["outcome"]) for s in call["ivr_path"]]
    assert path[0] == ("welcome", "hours")  # reconciliation found the greeting over
    assert ("main", "agent") in path


async def _not(value: bool) -> bool:
    return not value


async def _is(value: bool) -> bool:
    return value
