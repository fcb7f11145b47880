"""The voice menu by phone: SIPp callers pressing RFC 2833 keys through the real Asterisk."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from app.callbacks.models import CallbackTask, Voicemail
from app.complaints.models import Complaint
from phones.sipp import Caller, Pause, Press, Speak, keys
from tests.e2e.conftest import prompt_ms, wait_for_call

pytestmark = pytest.mark.asterisk
DEMO = Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml"


def path_of(call: dict) -> list[tuple[str, str, str]]:
    return [(s["node"], s["input"], s["outcome"]) for s in call["ivr_path"]]


async def test_menu_submenu_invalid_keys_then_the_caller_reaches_an_agent_not_a_hangup(
        service, place_call):
    greeting = prompt_ms(service, "greeting")
    script = (Pause(greeting + 700), Press("1"),   # main menu -> consultation (barge-in)
              Pause(1500), Press("7"),              # not an option: retry
              Pause(1500), Press("7"),
              Pause(1500), Press("7"),              # the third: R4, a human
              Pause(500))
    result = await place_call(Caller(number="13833330001", script=script))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13833330001")
    assert path_of(call)[3:] == [
        ("main", "1", "consult"), ("consult", "invalid:7", "retry"),
        ("consult", "invalid:7", "retry"), ("consult", "invalid:7", "fallback:agent"),
        ("agent", "", "queue:general")]
    assert (call["end_reason"], call["ivr_outcome"]) == ("overflow", "queue:general")


async def test_self_service_reads_back_the_status_of_a_seeded_complaint(service, place_call):
    async with service.app.state.sessionmaker() as session, session.begin():
        session.add(Complaint(number="20269876", customer_number="+8613999999999",
                              status="in_progress"))
    greeting = prompt_ms(service, "greeting")
    answer = sum(prompt_ms(service, p) for p in (
        "complaint_number_is", "digit_2", "digit_0", "digit_2", "digit_6", "digit_9", "digit_8",
        "digit_7", "digit_6", "status_in_progress"))
    script = (Pause(greeting + 700), Press("2"), Pause(1500),
              *keys("20269876#", first_after_ms=0, gap_ms=400))
    caller = Caller(number="13833330002", script=script)
    caller = Caller(number=caller.number, script=script,
                    hangup_after_ms=caller.script_ms + answer + 2500)
    result = await place_call(caller)
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13833330002")
    path = path_of(call)
    assert ("main", "2", "lookup_complaint") in path
    assert ("lookup_complaint", "20269876", "answered") in path
    # The whole answer played: Asterisk's PlaybackFinished moved the menu on.
    assert ("lookup_complaint", "", "after_lookup") in path
    assert call["end_reason"] == "abandoned_in_ivr" and call["ivr_node"] == "after_lookup"


async def test_a_bad_menu_is_refused_and_the_running_one_stays(service):
    before = (await service.get("/api/ivr")).json()
    bad = DEMO.read_text().replace('"0": agent}', '"0": consult}', 1)
    resp = await service.put("/api/ivr", content=bad.encode(),
                             headers={"Content-Type": "text/yaml"})
    assert resp.status_code == 422
    body = resp.json()
    assert body["error_id"] == "invalid-menu"
    assert any(p["rule"] == "agent-option" and p["node"] == "main"
               for p in body["details"]["problems"])
    assert (await service.get("/api/ivr")).json()["id"] == before["id"]


async def test_out_of_hours_caller_leaves_a_voicemail_stored_with_a_call_back_task(
        service, place_call):
    menu = yaml.safe_load(DEMO.read_text())
    hours = menu["nodes"]["hours"]
    # Today in the hours node's zone, by the service's clock, and tomorrow too: a call placed
    # just before local midnight is still out of hours when the menu reaches the node.
    today = service.app.state.clock.now().astimezone(ZoneInfo(hours["timezone"])).date()
    hours["holidays"] = [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    resp = await service.put("/api/ivr", content=yaml.safe_dump(menu, allow_unicode=True).encode(),
                             headers={"Content-Type": "text/yaml"})
    assert resp.status_code == 200, resp.text
    version = resp.json()["id"]
    versions = (await service.get("/api/ivr/versions")).json()
    assert versions[0]["id"] == version and versions[0]["is_active"]
    try:
        before_recording = sum(prompt_ms(service, p) for p in (
            "greeting", "closed_message", "leave_message")) + 1500  # and the beep
        script = (Pause(before_recording), Speak(), Pause(500))
        result = await place_call(Caller(number="13833330003", script=script,
                                         hangup_after_ms=before_recording + 5800))
        assert result.ok, result.output + result.errors
        call = await wait_for_call(service, "13833330003")
    finally:
        assert (await service.post("/api/ivr/reload")).status_code == 200
    assert call["ivr_version_id"] == version
    assert ("hours", "closed", "closed") in path_of(call)
    assert call["end_reason"] == "voicemail"
    async with service.app.state.sessionmaker() as session:
        voicemail = await session.scalar(select(Voicemail).where(Voicemail.call_id == call["id"]))
        task = await session.scalar(select(CallbackTask).where(CallbackTask.call_id == call["id"]))
    assert voicemail is not None and voicemail.caller_number == "13833330003"
    stored = service.app.state.settings.storage_dir / voicemail.path
    assert stored.stat().st_size == voicemail.size_bytes > 8000 * 2 * 3  # seconds of speech
    assert (task.source, task.voicemail_id, task.status) == ("voicemail", voicemail.id, "open")
