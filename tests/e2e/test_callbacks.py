"""Call-backs and surveys through the real Asterisk (R15, R17): the agent's SIPp phone rings
first, then a SIPp phone playing the customer (on its own port, HOTLINE_OUTBOUND_DIAL pointing at
it) is dialled through the trunk; the customer rates the call-back with DTMF; a customer who
never answers closes the complaint as unreachable after the allowed attempts; a caller of a queue
with the survey rates the agent call with DTMF after the agent hangs up. An answered call-back is
recorded (R16, HOTLINE_RECORD_CALLBACKS) from the customer's answer until the agent leaves: the
file is fetched through ARI into our storage with the call and the agent, the survey not in it."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.complaints.models import Complaint
from phones.dtmf import dtmf_pcap
from phones.sipp import (AgentPhone, Caller, Pause, Press, RunningPhone, agent_scenario,
                         free_udp_port)
from app.recordings.audio import wav_info
from tests.e2e.conftest import prompt_ms, ts, wait_for_call
from tests.e2e.test_recordings import stored_recording, user

pytestmark = pytest.mark.asterisk


class CustomerPhone(RunningPhone):
    """An AgentPhone's UAS that, `press_after_ms` after answering, presses `digit` (RFC 2833)."""

    def __init__(self, phone: AgentPhone, digit: str, press_after_ms: int) -> None:
        super().__init__(phone)
        self.digit, self.press_after_ms = digit, press_after_ms

    async def start(self) -> "CustomerPhone":
        tmp = Path(self._tmp.name)
        pcap = tmp / "key.pcap"
        pcap.write_bytes(dtmf_pcap(self.digit, press=0))
        press = (f'  <pause milliseconds="{self.press_after_ms}"/>\n'
                 f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n')
        scenario = agent_scenario(self.phone).replace(
            '<recv request="ACK" crlf="true"/>\n', '<recv request="ACK" crlf="true"/>\n' + press, 1)
        (tmp / "customer.xml").write_text(scenario)
        self.proc = await asyncio.create_subprocess_exec(
            shutil.which("sipp") or "sipp", "-sf", str(tmp / "customer.xml"), "-i", "127.0.0.1",
            "-p", str(self.phone.port), "-mp", str(free_udp_port(pair=True)), "-trace_err",
            "-nostdin", cwd=tmp, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.3)
        return self


@pytest.fixture
async def callbacks(service, monkeypatch):
    """Short call-back settings, an agent with a SIPp phone, complaints to call back about."""
    settings = service.app.state.settings
    for name, value in dict(callback_ring_seconds=3.0, callback_retry_minutes=0.02,
                            callback_max_attempts=3, wrap_up_seconds=0.3).items():
        monkeypatch.setattr(settings, name, value)
    phones: list[RunningPhone] = []
    agents: list[str] = []

    async def agent(talk_ms: int | None) -> str:
        phone = await RunningPhone(AgentPhone(port=free_udp_port(), user="cb-agent",
                                              answer_after_ms=300, talk_ms=talk_ms)).start()
        phones.append(phone)
        resp = await service.post("/api/agents", json={
            "name": "cb-agent", "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
            "languages": ["zh", "en"], "contact": phone.phone.contact})
        assert resp.status_code == 201, resp.text
        agents.append(resp.json()["id"])
        resp = await service.post(f"/api/agents/{agents[-1]}/state", json={"state": "ready"})
        assert resp.status_code == 200, resp.text
        return agents[-1]

    async def customer(phone: RunningPhone) -> None:
        await phone.start()
        phones.append(phone)
        monkeypatch.setattr(settings, "outbound_dial",
                            f"PJSIP/trunk/sip:{{number}}@127.0.0.1:{phone.phone.port}")

    async def complaint(number: str) -> str:
        now = datetime.now(UTC)
        async with service.app.state.sessionmaker() as session, session.begin():
            row = Complaint(number=f"9{uuid.uuid4().int % 10**9:09d}", customer_number=number,
                            status="resolved", severity="general", summary="late parcel",
                            customer_name="Wang Fang", created_at=now - timedelta(days=1),
                            resolved_at=now, callback_due_at=now + timedelta(hours=72))
            session.add(row)
        tasks = (await service.get("/api/callbacks", params={"status": "open"})).json()
        return next(t["id"] for t in tasks if t["complaint_id"] == str(row.id))

    yield agent, customer, complaint
    for agent_id in agents:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
    for phone in phones:
        await phone.stop()


async def attempt(service, task_id: str, agent_id: str) -> dict:
    """Start an attempt (once the agent is ready again) and wait for it to end."""
    for _ in range(50):
        resp = await service.post(f"/api/callbacks/{task_id}/attempts",
                                  json={"agent_id": agent_id})
        if resp.status_code != 409:
            break
        await asyncio.sleep(0.2)  # the agent's wrap-up, or the next attempt not yet due
    assert resp.status_code == 202, resp.text
    attempt_id = resp.json()["attempt_id"]
    for _ in range(150):
        task = (await service.get(f"/api/callbacks/{task_id}")).json()
        [mine] = [a for a in task["attempt_log"] if a["id"] == attempt_id]
        if mine["ended_at"]:
            return task | {"attempt": mine}
        await asyncio.sleep(0.2)
    raise AssertionError(f"the attempt did not end: {task}")


async def test_a_complaint_call_back_reaches_the_customer_who_rates_it_with_4(
        service, callbacks):
    agent, customer, complaint = callbacks
    wang = await agent(talk_ms=4000)  # the agent hangs up first: the customer gets the survey
    await customer(CustomerPhone(AgentPhone(port=free_udp_port(), user="customer",
                                            answer_after_ms=500), "4", press_after_ms=5500))
    task_id = await complaint("+8613877770001")
    task = await attempt(service, task_id, wang)
    assert task["attempt"]["outcome"] == "answered" and task["attempt"]["customer_answered_at"]
    assert (task["status"], task["attempts"], task["last_outcome"]) == ("done", 1, "answered")
    call = (await service.get(f"/api/calls/{task['attempt']['call_id']}")).json()
    assert (call["direction"], call["end_reason"], call["satisfaction"]) == (
        "outbound", "completed", 4)
    triggers = [e["trigger"] for e in call["timeline"]]
    assert triggers[:3] == ["dialing", "agent_answered", "customer_answered"]
    assert "survey_done" in triggers
    async with service.app.state.sessionmaker() as session:
        row = await session.get(Complaint, uuid.UUID(task["complaint_id"]))
    assert (row.status, row.satisfaction) == ("called_back", 4)

    # R16: the conversation is recorded, from the customer's answer until the agent left (the
    # survey after it is not in the recording), and kept in our storage.
    qa = await user(service, f"cb-qa-{uuid.uuid4().hex[:6]}", "qa")
    rec = await stored_recording(service, qa, call["id"])
    assert rec["status"] == "stored", rec
    assert (rec["call_id"], rec["agent_id"]) == (call["id"], wang)
    [survey] = [e for e in call["timeline"] if e["trigger"] == "survey_started"]
    talk = (ts(survey["at"]) - ts(call["connected_at"])).total_seconds()
    assert abs(rec["duration_seconds"] - talk) < 1.0, (rec["duration_seconds"], talk)
    data = (await service.get(f"/api/recordings/{rec['id']}/file", headers=qa)).content
    assert len(data) == rec["size_bytes"] > 44 and data[:4] == b"RIFF"
    info = wav_info(data)
    assert info is not None and info.duration_seconds > 1.0


async def test_a_customer_who_never_answers_closes_the_complaint_as_unreachable(
        service, callbacks):
    agent, customer, complaint = callbacks
    wang = await agent(talk_ms=None)
    await customer(RunningPhone(AgentPhone(port=free_udp_port(), user="nobody",
                                           answer_after_ms=None)))
    task_id = await complaint("+8613877770002")
    for n in range(1, 4):
        task = await attempt(service, task_id, wang)
        assert (task["attempt"]["outcome"], task["attempts"]) == ("no_answer", n)
    assert (task["status"], task["next_attempt_at"]) == ("unreachable", None)
    async with service.app.state.sessionmaker() as session:
        row = await session.get(Complaint, uuid.UUID(task["complaint_id"]))
    assert (row.status, row.callback_attempts) == ("closed_unreachable", 3)


async def test_a_caller_rates_the_agent_call_with_4_after_the_agent_hangs_up(
        service, callbacks, place_call):
    agent, _, _ = callbacks
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1, "survey": True})
    assert resp.status_code == 201 and resp.json()["survey"] is True, resp.text
    try:
        li = await agent(talk_ms=1500)  # answers after 0.3 s, hangs up 1.5 s later
        to_agent = prompt_ms(service, "greeting") + 700 + prompt_ms(service, "transferring") + 300
        script = (Pause(prompt_ms(service, "greeting") + 700), Press("0"),
                  Pause(to_agent - prompt_ms(service, "greeting") - 700 + 300 + 1500 + 1500),
                  Press("4"), Pause(1500), Press("4"))  # during the question (the second
        # one, should the first come before the question, as it is ignored after a score)
        caller = Caller(number="13877770003", script=script, hangup_after_ms=to_agent + 8500)
        result = await place_call(caller)
        assert result.ok, result.output + result.errors
        call = await wait_for_call(service, "13877770003")
        assert (call["agent_id"], call["satisfaction"], call["hangup_by"]) == (li, 4, "agent")
        triggers = [e["trigger"] for e in call["timeline"]]
        assert triggers.index("survey_started") < triggers.index("survey_done")
    finally:
        assert (await service.delete("/api/queues/general")).status_code == 204
