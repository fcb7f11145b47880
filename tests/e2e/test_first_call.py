"""End to end through the real Asterisk 22 with SIPp callers: a call answered, run through the
voice menu and logged complete."""

from __future__ import annotations

import pytest

from phones.sipp import Caller, keys
from tests.e2e.conftest import prompt_ms, ts, wait_for_call

pytestmark = pytest.mark.asterisk


async def test_ready_reports_the_active_role_database_and_asterisk_connected(service):
    resp = await service.get("/ready")
    assert resp.status_code == 200
    body = resp.json()
    writers = body.pop("writers")  # R21: the write-behind backlog, nothing pending now
    assert body == {"status": "ready", "role": "active", "lease": "held",
                    "database": "ok", "asterisk": "ok"}
    assert {"call-log-writer", "agent-state-writer"} <= set(writers)
    assert all(w["behind"] is False for w in writers.values())


async def test_a_call_is_answered_at_once_greeted_and_leaves_a_complete_record(
        service, place_call):
    after_greeting = prompt_ms(service, "greeting") + 700
    result = await place_call(Caller(number="13811110001", name="Li Si", dialed="95000",
                                     script=keys("0", first_after_ms=after_greeting)))
    assert result.ok, result.output + result.errors
    assert result.hung_up_by_remote  # R2: the caller had the chance; then we hung up
    call = await wait_for_call(service, "13811110001")
    assert (call["caller_name"], call["dialed_number"], call["direction"]) == (
        "Li Si", "95000", "inbound")
    assert (call["state"], call["end_reason"], call["hangup_by"]) == ("ended", "overflow", "system")
    assert call["ivr_outcome"] == "queue:general" and call["ivr_version_id"] is not None
    started, answered, ended = ts(call["started_at"]), ts(call["answered_at"]), ts(call["ended_at"])
    assert started <= answered <= ended
    assert (answered - started).total_seconds() < 5  # R1: well inside the first ring
    timeline = call["timeline"]
    assert [(e["trigger"], e["to_state"]) for e in timeline] == [
        ("arrived", "ringing"), ("answered", "answered"), ("ivr_started", "in_ivr"),
        ("no_agent", "closing"), ("prompt_finished", "awaiting_hangup"),
        ("grace_elapsed", "hanging_up"), ("channel_gone", "ended")]
    times = [ts(e["at"]) for e in timeline]
    assert times == sorted(times) and times[-1] == ended
    # The greeting's PlaybackFinished from Asterisk moved the menu on; the key 0 was heard.
    path = [(s["node"], s["input"], s["outcome"]) for s in call["ivr_path"]]
    assert path == [("welcome", "", "hours"), ("hours", "open", "returning"),
                    ("returning", "none", "main"), ("main", "0", "agent"),
                    ("agent", "", "queue:general")]


async def test_a_caller_who_hangs_up_during_the_greeting_abandoned_in_the_menu(
        service, place_call):
    result = await place_call(Caller(number="13811110002", hangup_after_ms=1500))
    assert result.ok, result.output + result.errors
    assert not result.hung_up_by_remote
    call = await wait_for_call(service, "13811110002")
    assert (call["end_reason"], call["hangup_by"], call["ivr_node"]) == (
        "abandoned_in_ivr", "caller", "welcome")
    assert [e["trigger"] for e in call["timeline"]][-2:] == ["ivr_started", "channel_gone"]
