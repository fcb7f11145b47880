"""End to end through the real Asterisk 22 with SIPp callers: the first call, logged complete."""

from __future__ import annotations

import pytest

from phones.sipp import Caller
from tests.e2e.conftest import ts, wait_for_call

pytestmark = pytest.mark.asterisk


async def test_ready_reports_database_and_asterisk_connected(service):
    resp = await service.get("/ready")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready", "database": "ok", "asterisk": "ok"}


async def test_a_call_is_answered_at_once_greeted_thanked_and_leaves_a_complete_record(
        service, place_call):
    result = await place_call(Caller(number="13811110001", name="Li Si", dialed="95000"))
    assert result.ok, result.output + result.errors
    assert result.hung_up_by_remote  # R2: the caller had the chance; then we hung up
    call = await wait_for_call(service, "13811110001")
    assert (call["caller_name"], call["dialed_number"], call["direction"]) == (
        "Li Si", "95000", "inbound")
    assert (call["state"], call["end_reason"], call["hangup_by"]) == ("ended", "completed", "system")
    started, answered, ended = ts(call["started_at"]), ts(call["answered_at"]), ts(call["ended_at"])
    assert started <= answered <= ended
    assert (answered - started).total_seconds() < 5  # R1: well inside the first ring
    timeline = call["timeline"]
    assert [(e["trigger"], e["to_state"]) for e in timeline] == [
        ("arrived", "ringing"), ("answered", "answered"), ("greeting_started", "greeting"),
        ("prompt_finished", "closing"), ("prompt_finished", "awaiting_hangup"),
        ("grace_elapsed", "hanging_up"), ("channel_gone", "ended")]
    # The greeting's PlaybackFinished from Asterisk moved the call on.
    assert timeline[3]["detail"] == {"prompt": "greeting"}
    times = [ts(e["at"]) for e in timeline]
    assert times == sorted(times)
    assert times[-1] == ended


async def test_a_caller_who_hangs_up_during_the_greeting_is_logged_as_such(service, place_call):
    result = await place_call(Caller(number="13811110002", hangup_after_ms=1500))
    assert result.ok, result.output + result.errors
    assert not result.hung_up_by_remote
    call = await wait_for_call(service, "13811110002")
    assert (call["end_reason"], call["hangup_by"]) == ("caller_hangup", "caller")
    assert [e["trigger"] for e in call["timeline"]][-2:] == ["greeting_started", "channel_gone"]
