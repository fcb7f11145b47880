"""Agents' phones that register (R9): the service provisions the agent's PJSIP endpoint in the
real Asterisk through ARI dynamic configuration, a SIPp phone registers with the agent's
credentials (digest, answering the 401), and queued callers reach it as `PJSIP/<username>`."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from phones.sipp import (AgentPhone, Caller, Registration, RegistrationRefused, RunningPhone,
                         free_udp_port, keys, register)
from tests.e2e.conftest import prompt_ms, wait_for_call

pytestmark = pytest.mark.asterisk

PASSWORD = "correct-horse-42"


@pytest.fixture
async def registrations(service, asterisk_instance):
    """Creates registration agents and the queue `general`; logs them out and deactivates them
    after (which removes their endpoints from Asterisk)."""
    agents: list[str] = []
    phones: list[RunningPhone] = []
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1})
    assert resp.status_code == 201, resp.text

    async def agent(username: str) -> dict:
        resp = await service.post("/api/agents", json={
            "name": username, "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
            "languages": ["zh", "en"],
            "phone": {"kind": "registration", "username": username, "password": PASSWORD}})
        assert resp.status_code == 201, resp.text
        agents.append(resp.json()["id"])
        return resp.json()

    def registration(username: str, password: str = PASSWORD) -> Registration:
        return Registration(username, password, registrar_port=asterisk_instance.sip_port)

    async def phone(username: str, **kwargs) -> RunningPhone:
        running = await RunningPhone(AgentPhone(port=free_udp_port(), user=username,
                                                registration=registration(username),
                                                **kwargs)).start()
        phones.append(running)
        return running

    agent.registration = registration  # type: ignore[attr-defined]
    agent.phone = phone  # type: ignore[attr-defined]
    yield agent
    for running in phones:
        await running.stop()
    for agent_id in agents:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
        await service.patch(f"/api/agents/{agent_id}", json={"is_active": False})
    assert (await service.delete("/api/queues/general")).status_code == 204


def answers(messages: str) -> list[tuple[str, str]]:
    """The responses SIPp received (status, CSeq number), in order, from its message trace."""
    found = []
    for block in messages.split("-----------------------------------------------"):
        if re.search(r"^UDP message received \[", block, re.M) and (
                m := re.search(r"^SIP/2\.0 (\d{3}) .*?^CSeq: (\d+)", block, re.M | re.S)):
            found.append((m.group(1), m.group(2)))
    return found


def _username() -> str:
    return f"reg{uuid.uuid4().hex[:8]}"


async def registered(service, agent_id: str, want: bool, timeout: float = 10) -> dict:
    """Poll GET /api/agents/{id} until its phone's `registered` is `want`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await service.get(f"/api/agents/{agent_id}")).json()
        if body["phone"]["registered"] is want:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the phone's registered is not {want}: {body['phone']}")
        await asyncio.sleep(0.2)


async def test_a_registered_phone_is_shown_registered_and_answers_a_queued_call(
        service, registrations, place_call):
    username = _username()
    agent = await registrations(username)
    assert agent["contact"] is None
    assert agent["phone"] == {"kind": "registration", "username": username,
                              "provisioned": True, "registered": False}
    assert PASSWORD not in str(agent) and "md5" not in str(agent)

    phone = await registrations.phone(username, answer_after_ms=400)
    listed = await registered(service, agent["id"], True)
    assert listed["phone"]["provisioned"] is True
    assert [a["phone"]["registered"] for a in (await service.get("/api/agents")).json()
            if a["id"] == agent["id"]] == [True]

    resp = await service.post(f"/api/agents/{agent['id']}/state", json={"state": "ready"})
    assert resp.status_code == 200, resp.text
    greeting = prompt_ms(service, "greeting")
    to_agent = greeting + 700 + prompt_ms(service, "transferring") + 300
    result = await place_call(Caller(number="13844447701",
                                     script=keys("0", first_after_ms=greeting + 700),
                                     hangup_after_ms=to_agent + 3500))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13844447701")
    assert (call["end_reason"], call["agent_id"]) == ("completed", agent["id"])
    assert [(o["agent_id"], o["outcome"], o["rings"]) for o in call["offers"]] == [
        (agent["id"], "answered", 1)]

    await phone.stop()  # unregisters
    await registered(service, agent["id"], False)


async def test_asterisk_refuses_a_wrong_password_and_an_unknown_user(service, registrations):
    username = _username()
    agent = await registrations(username)
    port = free_udp_port()
    wrong = await register(registrations.registration(username, "not-the-password"), port=port)
    assert not wrong.ok
    # Challenged, then refused again after the digest (the second REGISTER, CSeq 2).
    assert answers(wrong.messages) == [("401", "1"), ("401", "2")], wrong.messages
    stranger = await register(registrations.registration(_username()), port=port)
    assert not stranger.ok
    body = (await service.get(f"/api/agents/{agent['id']}")).json()
    assert body["phone"]["registered"] is False
    with pytest.raises(RegistrationRefused):
        await RunningPhone(AgentPhone(port=port, registration=registrations.registration(
            username, "also-not-the-password"))).start()


async def test_new_credentials_replace_the_old_and_deactivating_removes_the_endpoint(
        service, registrations):
    username = _username()
    agent = await registrations(username)
    port = free_udp_port()
    assert (await register(registrations.registration(username), port=port, expires=0)).ok

    resp = await service.patch(f"/api/agents/{agent['id']}", json={
        "phone": {"kind": "registration", "username": username, "password": "new-password-99"}})
    assert resp.status_code == 200 and resp.json()["phone"]["provisioned"] is True, resp.text
    assert not (await register(registrations.registration(username), port=port)).ok
    assert (await register(registrations.registration(username, "new-password-99"), port=port,
                           expires=0)).ok

    resp = await service.patch(f"/api/agents/{agent['id']}", json={"is_active": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_active"] is False and resp.json()["phone"]["provisioned"] is False
    assert not (await register(registrations.registration(username, "new-password-99"),
                               port=port)).ok
