"""By phone, through the real Asterisk: a caller who waits a queue's maximum overflows to
voicemail and leaves a message (R8), and a caller with an open major complaint is offered to a
senior agent, not to a junior who is ready (R10). A ring is 1 s here."""

from __future__ import annotations

import uuid
import wave

import pytest
from sqlalchemy import select, update

from app.callbacks.models import CallbackTask, Voicemail
from app.complaints.models import Complaint
from app.customers import service as customers
from phones.sipp import (AgentPhone, Caller, Pause, Press, RunningPhone, Speak, free_udp_port,
                         keys)
from routing.models import QueueRow
from tests.e2e.conftest import prompt_ms, wait_for_call
from tests.e2e.test_acd import ready, to_agent_ms

pytestmark = pytest.mark.asterisk


def system_prompt_ms(service, name: str, language: str = "zh") -> int:
    """How long one of the service's own prompts plays (the file Asterisk plays)."""
    path = service.app.state.settings.prompt_build_dir / language / f"{name}.wav"
    with wave.open(str(path)) as w:
        return int(1000 * w.getnframes() / w.getframerate())


@pytest.fixture
async def desk(service):
    """Agents with SIPp phones (level given) and queues made through the API; cleans up after."""
    phones: list[RunningPhone] = []
    agents: list[str] = []
    queues: list[str] = []

    async def agent(name: str, level: str, answer_after_ms: int | None = 300) -> str:
        phone = await RunningPhone(AgentPhone(port=free_udp_port(), user=name,
                                              answer_after_ms=answer_after_ms)).start()
        phones.append(phone)
        resp = await service.post("/api/agents", json={
            "name": name, "extension": str(uuid.uuid4().int % 10**8), "level": level,
            "languages": ["zh", "en"], "contact": phone.phone.contact})
        assert resp.status_code == 201, resp.text
        agents.append(resp.json()["id"])
        return agents[-1]

    async def queue(**body) -> None:
        resp = await service.post("/api/queues", json={"wrap_up_seconds": 1, **body})
        assert resp.status_code == 201, resp.text
        queues.append(body["name"])

    agent.queue = queue  # type: ignore[attr-defined]
    yield agent
    for agent_id in agents:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
    for name in queues:
        assert (await service.delete(f"/api/queues/{name}")).status_code == 204
    for phone in phones:
        await phone.stop()


async def test_a_caller_who_waits_the_maximum_leaves_a_voicemail_stored_with_a_call_back_task(
        service, desk, place_call):
    await desk.queue(name="general", call_type="consultation", max_wait_seconds=10,
                     overflow={"kind": "voicemail", "max_seconds": 15})
    async with service.app.state.sessionmaker() as session, session.begin():  # a shorter wait
        await session.execute(update(QueueRow).where(QueueRow.name == "general")
                              .values(max_wait_seconds=2))
    await service.app.state.acd.reload_queues()
    sun = await desk("sun", "intermediate")
    await ready(service, sun)
    resp = await service.post(f"/api/agents/{sun}/state", json={"state": "paused", "reason": "meal"})
    assert resp.status_code == 200  # logged in but paused: the caller waits, nobody is offered
    first_key = prompt_ms(service, "greeting") + 700
    recording_at = (to_agent_ms(service) + 2000  # waited the maximum
                    + system_prompt_ms(service, "overflow_voicemail") + 1500)  # and the beep
    script = (*keys("0", first_after_ms=first_key), Pause(recording_at - first_key - 700),
              Speak(), Press("#"))  # `#` ends the message; then the hotline thanks and hangs up
    result = await place_call(Caller(number="13844449001", script=script,
                                     max_call_ms=recording_at + 5000 + 15_000))
    assert result.ok, result.output + result.errors
    assert result.hung_up_by_remote  # R2: after the thanks and the grace, we hung up
    call = await wait_for_call(service, "13844449001")
    assert (call["end_reason"], call["queue"], call["offers"]) == (
        "overflow_voicemail", "general", [])
    [event] = [e for e in call["timeline"] if e["trigger"] == "to_voicemail"]
    assert (event["from_state"], event["detail"]["why"], event["detail"]["max_seconds"]) == (
        "in_queue", "waited the queue's maximum", 15)
    assert [e["detail"] for e in call["timeline"] if e["trigger"] == "message_done"] == [
        {"message_left": True}]
    async with service.app.state.sessionmaker() as session:
        voicemail = await session.scalar(select(Voicemail).where(Voicemail.call_id == call["id"]))
        task = await session.scalar(select(CallbackTask).where(CallbackTask.call_id == call["id"]))
    assert voicemail is not None and voicemail.caller_number == "13844449001"
    stored = service.app.state.settings.storage_dir / voicemail.path
    assert stored.stat().st_size == voicemail.size_bytes > 8000 * 2 * 3  # seconds of speech
    assert (task.source, task.voicemail_id, task.status) == ("voicemail", voicemail.id, "open")


async def test_a_caller_with_an_open_major_complaint_is_offered_to_a_senior_not_a_ready_junior(
        service, desk, place_call):
    await desk.queue(name="complaints", call_type="complaint", max_wait_seconds=60)
    number = "13844449002"
    async with service.app.state.sessionmaker() as session, session.begin():
        session.add(Complaint(number=f"9{uuid.uuid4().int % 10**7:07d}", status="in_progress",
                              customer_number=customers.normalise(number), severity="major"))
    wang = await desk("wang", "junior")
    await ready(service, wang)  # ready first: the longest idle, who would be offered first
    li = await desk("li", "senior")
    await ready(service, li)
    enqueued_ms = prompt_ms(service, "greeting") + sum(
        prompt_ms(service, p) for p in ("returning_complaint", "transferring")) + 300
    result = await place_call(Caller(number=number, hangup_after_ms=enqueued_ms + 3500))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, number)
    assert (call["end_reason"], call["agent_id"], call["queue"]) == ("completed", li, "complaints")
    assert [(o["agent_id"], o["outcome"]) for o in call["offers"]] == [(li, "answered")]
    [event] = [e for e in call["timeline"] if e["trigger"] == "enqueued"]
    assert (event["detail"]["min_level"], event["detail"]["min_level_why"]) == (
        "senior", "open complaint of severity major (R10)")
    junior = (await service.get(f"/api/agents/{wang}/states")).json()
    assert all(c["to_state"] != "ringing" for c in junior)  # never offered it
