"""The ACD by phone: SIPp callers reach SIPp agent phones through the real Asterisk, and every
offer obeys the three-ring rule (R1; a ring is 1 s here, so the limit is 3 s)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from phones.sipp import AgentPhone, Caller, RunningPhone, free_udp_port, keys
from tests.e2e.conftest import prompt_ms, ts, wait_for_call

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def desk(service):
    """Creates agents with SIPp phones, the queue the demo menu's 0 leads to; cleans up after."""
    phones: list[RunningPhone] = []
    agents: list[str] = []
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1, "announce_every_seconds": 10})
    assert resp.status_code == 201, resp.text

    async def agent(name: str, answer_after_ms: int | None, talk_ms: int | None = None) -> str:
        phone = await RunningPhone(AgentPhone(port=free_udp_port(), user=name,
                                              answer_after_ms=answer_after_ms,
                                              talk_ms=talk_ms)).start()
        phones.append(phone)
        resp = await service.post("/api/agents", json={
            "name": name, "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
            "languages": ["zh", "en"], "contact": phone.phone.contact})
        assert resp.status_code == 201, resp.text
        agent_id = resp.json()["id"]
        agents.append(agent_id)
        return agent_id

    yield agent
    for agent_id in agents:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
    assert (await service.delete("/api/queues/general")).status_code == 204
    for phone in phones:
        await phone.stop()


async def ready(service, agent_id: str) -> None:
    """The agent goes ready (and, if a call waits, is offered it at once)."""
    resp = await service.post(f"/api/agents/{agent_id}/state", json={"state": "ready"})
    assert resp.status_code == 200 and resp.json()["state"] in ("ready", "ringing"), resp.text


def to_agent_ms(service) -> int:
    """From the answer to the caller pressing 0 and hearing 'putting you through'."""
    return prompt_ms(service, "greeting") + 700 + prompt_ms(service, "transferring") + 300


async def test_an_agent_who_answers_on_the_first_ring_is_connected(service, desk, place_call):
    wang = await desk("wang", answer_after_ms=400)
    await ready(service, wang)
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    result = await place_call(Caller(number="13844440001", script=script,
                                     hangup_after_ms=to_agent_ms(service) + 3500))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13844440001")
    assert (call["end_reason"], call["hangup_by"], call["agent_id"]) == ("completed", "caller", wang)
    assert call["queue"] == "general" and call["apology_due"] is False
    assert [o["outcome"] for o in call["offers"]] == ["answered"]
    assert call["offers"][0]["rings"] == 1 and call["offers"][0]["ringing_at"] is not None
    assert call["wait_seconds"] < 3 and call["talk_seconds"] > 1
    assert ts(call["enqueued_at"]) <= ts(call["connected_at"]) <= ts(call["ended_at"])


async def test_an_agent_who_never_answers_is_paused_after_three_rings_and_the_next_answers(
        service, desk, place_call):
    li = await desk("li", answer_after_ms=None)
    zhao = await desk("zhao", answer_after_ms=400)
    await ready(service, li)  # ready first: the longest idle, offered first
    await asyncio.sleep(0.05)
    await ready(service, zhao)
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    result = await place_call(Caller(number="13844440002", script=script,
                                     hangup_after_ms=to_agent_ms(service) + 3000 + 3500))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13844440002")
    assert (call["end_reason"], call["agent_id"]) == ("completed", zhao)
    offers = call["offers"]
    assert [(o["agent_id"], o["outcome"], o["rings"]) for o in offers] == [
        (li, "no_answer", 3), (zhao, "answered", 1)]
    assert call["apology_due"] is True  # waited for a human longer than the ring limit
    missed = (await service.get(f"/api/agents/{li}")).json()
    assert (missed["state"], missed["state_reason"]) == ("paused", "missed_rings")


async def test_a_caller_nobody_takes_hangs_up_and_is_abandoned_in_queue(service, desk, place_call):
    sun = await desk("sun", answer_after_ms=400)
    await ready(service, sun)
    resp = await service.post(f"/api/agents/{sun}/state", json={"state": "paused", "reason": "meal"})
    assert resp.status_code == 200  # logged in but paused: the caller waits, nobody is offered
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    result = await place_call(Caller(number="13844440003", script=script,
                                     hangup_after_ms=to_agent_ms(service) + 2000))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13844440003")
    assert (call["end_reason"], call["hangup_by"], call["offers"]) == (
        "abandoned_in_queue", "caller", [])
    assert call["wait_seconds"] >= 1.5


async def wait_for_state(service, number: str, state: str, agent: str | None = None,
                         timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        call = await wait_for_call(service, number, ended=False)
        if call["state"] == state and (agent is None or call["timeline"][-1]["detail"].get(
                "agent_id") == agent):
            return call
        await asyncio.sleep(0.2)
    raise AssertionError(f"the call from {number} did not reach {state}")


async def test_a_blind_transfer_takes_the_caller_to_the_other_queues_agent(
        service, desk, place_call):
    wang = await desk("wang", answer_after_ms=300)
    zhao = await desk("zhao", answer_after_ms=300)
    resp = await service.post("/api/queues", json={"name": "complaints", "call_type": "complaint",
                                                   "wrap_up_seconds": 1})
    assert resp.status_code == 201, resp.text
    try:
        await ready(service, wang)
        script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
        caller = asyncio.create_task(place_call(Caller(
            number="13844440004", script=script, hangup_after_ms=to_agent_ms(service) + 9000)))
        call = await wait_for_state(service, "13844440004", "connected", wang)
        await ready(service, zhao)
        resp = await service.post(f"/api/calls/{call['id']}/transfer", json={"queue": "complaints"})
        assert resp.status_code == 202, resp.text
        await wait_for_state(service, "13844440004", "connected", zhao)
        result = await caller
        assert result.ok, result.output + result.errors
    finally:
        assert (await service.delete("/api/queues/complaints")).status_code == 204
    call = await wait_for_call(service, "13844440004")
    assert (call["end_reason"], call["agent_id"], call["queue"]) == ("completed", wang, "complaints")
    assert [(o["agent_id"], o["queue"], o["outcome"]) for o in call["offers"]] == [
        (wang, "general", "answered"), (zhao, "complaints", "answered")]
    assert "transferred" in [e["trigger"] for e in call["timeline"]]


async def test_a_warm_transfer_consults_a_colleague_then_hands_the_caller_over(
        service, desk, place_call):
    wang = await desk("wang", answer_after_ms=300)
    zhao = await desk("zhao", answer_after_ms=300)
    await ready(service, wang)
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    caller = asyncio.create_task(place_call(Caller(
        number="13844440005", script=script, hangup_after_ms=to_agent_ms(service) + 9000)))
    call = await wait_for_state(service, "13844440005", "connected", wang)
    await ready(service, zhao)
    resp = await service.post(f"/api/calls/{call['id']}/transfer",
                              json={"mode": "warm", "agent_id": zhao})
    assert resp.status_code == 202 and resp.json() == {"status": "consulting"}, resp.text
    for _ in range(50):  # the colleague picks up; the caller holds with music meanwhile
        call = await wait_for_call(service, "13844440005", ended=False)
        if call["timeline"][-1]["trigger"] == "consult_answered":
            break
        await asyncio.sleep(0.2)
    resp = await service.post(f"/api/calls/{call['id']}/transfer/complete")
    assert resp.status_code == 202, resp.text
    result = await caller
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13844440005")
    assert (call["end_reason"], call["agent_id"]) == ("completed", wang)  # the owner (R12)
    assert [(o["agent_id"], o["outcome"]) for o in call["offers"]] == [
        (wang, "answered"), (zhao, "answered")]
    triggers = [e["trigger"] for e in call["timeline"]]
    assert triggers[-4:] == ["consult_started", "consult_answered", "consult_completed",
                             "channel_gone"]
    agents = {a["id"]: a for a in (await service.get("/api/agents")).json()}
    assert agents[zhao]["state"] in ("wrap_up", "ready") and agents[wang]["state"] != "on_call"


async def test_an_important_customer_is_served_before_a_caller_who_waited_longer(
        service, desk, place_call):
    from app.customers.models import Customer

    async with service.app.state.sessionmaker() as session, session.begin():
        session.add(Customer(phone="+8613955550000", name="VIP", important=True))
    wang = await desk("wang", answer_after_ms=300)
    await ready(service, wang)
    await service.post(f"/api/agents/{wang}/state", json={"state": "paused", "reason": "meal"})
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    hold = to_agent_ms(service) + 7000
    plain = asyncio.create_task(place_call(Caller(number="13844440006", script=script,
                                                  hangup_after_ms=hold)))
    await asyncio.sleep(1.5)
    vip = asyncio.create_task(place_call(Caller(number="13955550000", script=script,
                                                hangup_after_ms=hold)))
    await wait_for_state(service, "13955550000", "in_queue")
    await wait_for_state(service, "13844440006", "in_queue")
    await ready(service, wang)  # one agent, two waiting: the important one goes first (R11)
    results = await asyncio.gather(plain, vip)
    assert all(r.ok for r in results), [r.errors for r in results]
    vip_call = await wait_for_call(service, "13955550000")
    plain_call = await wait_for_call(service, "13844440006")
    assert vip_call["priority"] == 10 and vip_call["agent_id"] == wang
    assert plain_call["end_reason"] == "abandoned_in_queue"
    assert ts(vip_call["enqueued_at"]) > ts(plain_call["enqueued_at"])


async def test_fifty_calls_at_once_are_all_handled_with_no_double_offers(
        service, desk, asterisk_instance):
    from sqlalchemy import select

    from app.calls.models import Call
    from phones.sipp import call as place
    from routing.models import OfferRow

    # Five agents who talk for 2 s and hang up; 50 callers who wait up to 50 s.
    agents = [await desk(f"a{n}", answer_after_ms=200, talk_ms=2000) for n in range(5)]
    for agent_id in agents:
        await ready(service, agent_id)
    script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700)
    caller = Caller(number="13866660000", script=script,
                    hangup_after_ms=to_agent_ms(service) + 50_000)
    result = await place(caller, sip_port=asterisk_instance.sip_port, count=50, rate=50)
    assert result.ok, result.output[-3000:] + result.errors[-3000:]
    async with service.app.state.sessionmaker() as session:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            calls = list(await session.scalars(select(Call).where(
                Call.caller_number == "13866660000")))
            if len(calls) == 50 and all(c.ended_at for c in calls):
                break
            assert asyncio.get_running_loop().time() < deadline, "not every call ended"
            await asyncio.sleep(0.5)
            session.expire_all()
        offers = list(await session.scalars(select(OfferRow).where(
            OfferRow.call_id.in_([c.id for c in calls]))))
    assert {c.end_reason for c in calls} == {"completed"}  # every caller reached an agent
    assert {c.hangup_by for c in calls} == {"agent"}
    for agent_id in agents:  # no agent is offered a call while ringing or talking to another
        mine = sorted((o for o in offers if str(o.agent_id) == agent_id), key=lambda o: o.offered_at)
        calls_by_id = {c.id: c for c in calls}
        for before, after in zip(mine, mine[1:]):
            busy_until = (before.ended_at if before.outcome != "answered"
                          else calls_by_id[before.call_id].ended_at)
            assert busy_until is not None and busy_until <= after.offered_at
    for c in calls:  # no call is offered to two agents at once
        mine = sorted((o for o in offers if o.call_id == c.id), key=lambda o: o.offered_at)
        for before, after in zip(mine, mine[1:]):
            assert before.ended_at is not None or before.answered_at is not None
            assert (before.ended_at or before.answered_at) <= after.offered_at
