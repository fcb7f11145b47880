"""Reports from real calls (R18, R19): SIPp callers through the real Asterisk with known
outcomes — answered on the first ring, missed by one agent then answered by the next, abandoned
in the queue — give exactly the expected figures (ring cycle 1 s: the ring limit and the
service-level threshold are 3 s)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from phones.sipp import AgentPhone, Caller, RunningPhone, free_udp_port, keys
from tests.e2e.conftest import prompt_ms, wait_for_call

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def team(service):
    phones, agents = [], []
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1})
    assert resp.status_code == 201, resp.text

    async def agent(name: str, answer_after_ms: int | None) -> str:
        phone = await RunningPhone(AgentPhone(port=free_udp_port(), user=name,
                                              answer_after_ms=answer_after_ms)).start()
        phones.append(phone)
        resp = await service.post("/api/agents", json={
            "name": name, "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
            "languages": ["zh", "en"], "contact": phone.phone.contact})
        assert resp.status_code == 201, resp.text
        agents.append(resp.json()["id"])
        return agents[-1]

    yield agent
    for agent_id in agents:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
    assert (await service.delete("/api/queues/general")).status_code == 204
    for phone in phones:
        await phone.stop()


async def state(service, agent_id: str, value: str, reason: str | None = None) -> None:
    for _ in range(50):  # an agent in wrap-up may pause; one on a call must wait
        resp = await service.post(f"/api/agents/{agent_id}/state",
                                  json={"state": value, "reason": reason})
        if resp.status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(resp.text)


async def test_known_calls_give_exactly_the_expected_report(service, team, place_call):
    since = service.app.state.clock.now() - timedelta(seconds=1)
    wang, li, zhao = await team("wang", 400), await team("li", None), await team("zhao", 400)
    to_agent = (prompt_ms(service, "greeting") + 700 + prompt_ms(service, "transferring") + 300)
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)

    # 1. answered on the first ring
    await state(service, wang, "ready")
    result = await place_call(Caller(number="13855550001", script=script,
                                     hangup_after_ms=to_agent + 3000))
    assert result.ok, result.output + result.errors
    await wait_for_call(service, "13855550001")
    await state(service, wang, "paused", "meeting")

    # 2. li never answers (three rings), zhao answers: one miss, a late answer
    await state(service, li, "ready")
    await asyncio.sleep(0.05)
    await state(service, zhao, "ready")
    result = await place_call(Caller(number="13855550002", script=script,
                                     hangup_after_ms=to_agent + 3000 + 3000))
    assert result.ok, result.output + result.errors
    await wait_for_call(service, "13855550002")
    await state(service, zhao, "paused", "meeting")

    # 3. everyone logged in is paused: the caller waits 6.5 s and hangs up (not a short abandon)
    result = await place_call(Caller(number="13855550003", script=script,
                                     hangup_after_ms=to_agent + 6500))
    assert result.ok, result.output + result.errors
    await wait_for_call(service, "13855550003")

    params = {"since": since.isoformat(),
              "until": (service.app.state.clock.now() + timedelta(seconds=1)).isoformat(),
              "queue": "general"}
    s = (await service.get("/api/reports/summary", params=params)).json()
    assert (s["calls"], s["offered"], s["answered"], s["abandoned"], s["short_abandoned"]) == (
        3, 3, 2, 1, 0)
    assert s["abandon_rate"] == pytest.approx(1 / 3)
    assert s["service_level"] == pytest.approx(1 / 3)  # call 2 waited over the 3 s limit
    assert (s["offers_answered"], s["offers_answered_in_limit"], s["offers_missed"]) == (2, 2, 1)
    # R1 (#18): li's phone rang out, so of the 3 decided offers 2 were answered in three rings
    assert s["offers_decided"] == 3 and s["three_ring_compliance"] == pytest.approx(2 / 3)
    # per call: call 1's first phone answered, call 2's rang out (call 3 rang nobody)
    assert (s["first_offers"], s["first_offers_in_limit"]) == (2, 1)
    assert s["three_ring_first_offer"] == 0.5
    # as the callers felt it: only call 1 was answered within 3 s of entering the queue
    assert s["three_ring_caller"] == pytest.approx(1 / 3)
    assert s["by_call_type"] == {"consultation": 3}

    agents = {a["agent_id"]: a for a in (await service.get("/api/reports/agents",
                                                           params=params)).json()["items"]}
    assert (agents[wang]["answered"], agents[wang]["missed"]) == (1, 0)
    assert (agents[li]["offers"], agents[li]["answered"], agents[li]["missed"]) == (1, 0, 1)
    assert agents[li]["three_ring_compliance"] == 0.0 and agents[wang]["three_ring_compliance"] == 1.0
    assert (agents[zhao]["answered"], agents[zhao]["missed"]) == (1, 0)
    abandoned = (await service.get("/api/reports/abandoned", params=params)).json()["items"]
    assert [a["caller_national"] for a in abandoned] == ["13855550003"]
    board = (await service.get("/api/reports/wallboard")).json()
    assert board["waiting"] == 0 and board["agents"]["paused"] >= 2
