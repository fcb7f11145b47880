"""R21 against the real Asterisk: with no service on ARI the dialplan's fallback still serves
callers (an agent's phone from the list the service kept in Asterisk, else a message), and
when the service is back it imports those calls: rows, the message and its call-back task."""

from __future__ import annotations

import asyncio
import time
import uuid
import wave

import httpx
import pytest

from app.fallback import DIAL_VARIABLE
from phones.sipp import AgentPhone, Caller, Pause, Press, RunningPhone, Speak, free_udp_port
from tests.e2e.conftest import ts, wait_for_call

pytestmark = pytest.mark.asterisk


def system_prompt_ms(inst, name: str, language: str = "zh") -> int:
    with wave.open(str(inst.prompt_host_dir / language / f"{name}.wav")) as w:
        return int(1000 * w.getnframes() / w.getframerate())


async def until(check, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.1)


@pytest.fixture
async def asterisk_ari(asterisk_instance):
    """ARI straight to the test Asterisk (not through the proxy the service uses)."""
    async with httpx.AsyncClient(base_url=f"{asterisk_instance.ari_url}/ari", timeout=5, auth=(
            asterisk_instance.ari_user, asterisk_instance.ari_password)) as client:
        yield client


async def test_with_no_service_callers_reach_an_agent_or_leave_a_message_and_are_imported_later(
        service, place_call, ari_proxy, asterisk_instance, asterisk_ari):
    app = service.app  # type: ignore[attr-defined]
    phone = await RunningPhone(AgentPhone(port=free_udp_port(), user="fallback",
                                          answer_after_ms=400)).start()
    resp = await service.post("/api/agents", json={
        "name": "fallback", "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
        "languages": ["zh"], "contact": phone.phone.contact})
    assert resp.status_code == 201, resp.text
    agent_id = resp.json()["id"]

    async def dial_string() -> str:
        resp = await asterisk_ari.get("/asterisk/variable", params={"variable": DIAL_VARIABLE})
        return resp.json()["value"]

    async def app_gone() -> bool:
        apps = (await asterisk_ari.get("/applications")).json()
        return asterisk_instance.ari_app not in [a["name"] for a in apps]

    try:
        resp = await service.post(f"/api/agents/{agent_id}/state", json={"state": "ready"})
        assert resp.status_code == 200, resp.text
        # The service keeps the agent's phone in Asterisk for the fallback.
        await until(lambda: _eq(dial_string(), f"PJSIP/trunk/{phone.phone.contact}"),
                    "the agent's phone in the dial string")

        ari_proxy.cut()  # the service is gone: Asterisk unregisters its app
        await until(app_gone, "the app unregistered")
        apology = system_prompt_ms(asterisk_instance, "fallback_apology")
        answered = await place_call(Caller(number="13866660001",
                                           hangup_after_ms=apology + 400 + 3000))
        assert answered.ok, answered.output + answered.errors

        # Nobody to ring: the caller leaves a message (and ends it with #).
        resp = await asterisk_ari.post("/asterisk/variable",
                                       params={"variable": DIAL_VARIABLE, "value": ""})
        assert resp.status_code == 204
        before = system_prompt_ms(asterisk_instance, "overflow_voicemail") + apology + 1000
        message = await place_call(Caller(number="13866660002", script=(
            Pause(before), Speak(), Pause(500), Press("#"), Pause(300)),
            max_call_ms=before + 30_000))
        assert message.ok, message.output + message.errors
        assert message.hung_up_by_remote  # thanked, then the fallback hung up (R2)
        stored = [r["name"] for r in (await asterisk_ari.get("/recordings/stored")).json()]
        assert len([n for n in stored if n.startswith("fallback-")]) == 3  # 2 records, 1 message
    finally:
        ari_proxy.restore()

    try:
        await app.state.stream.wait_connected(timeout=15)
        first = await wait_for_call(service, "13866660001", timeout=30)
        assert (first["end_reason"], first["agent_id"], first["state"]) == (
            "fallback_agent", agent_id, "ended")
        assert first["answered_at"] is not None and first["connected_at"] is not None
        assert ts(first["started_at"]) <= ts(first["connected_at"]) <= ts(first["ended_at"])
        second = await wait_for_call(service, "13866660002", timeout=30)
        assert (second["end_reason"], second["agent_id"]) == ("fallback_message", None)
        tasks = (await service.get("/api/callbacks")).json()
        [task] = [t for t in tasks if t["call_id"] == second["id"]]
        assert (task["source"], task["has_voicemail"], task["status"]) == (
            "voicemail", True, "open")
        audio = await service.get(f"/api/callbacks/{task['id']}/voicemail")
        assert audio.status_code == 200 and len(audio.content) > 16000  # over a second said
        await app.state.fallback.imported()
        stored = [r["name"] for r in (await asterisk_ari.get("/recordings/stored")).json()]
        assert not [n for n in stored if n.startswith("fallback-")]  # Asterisk's copies gone
    finally:
        await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
        await phone.stop()


async def test_with_the_service_connected_a_call_enters_stasis_at_once(service, place_call):
    """The fallback never runs while the service is there: the call is the service's."""
    result = await place_call(Caller(number="13866660003", hangup_after_ms=1500))
    assert result.ok, result.output + result.errors
    call = await wait_for_call(service, "13866660003")
    assert call["end_reason"] not in ("fallback_agent", "fallback_message", "fallback_abandoned")
    assert not call["channel_id"].startswith("fallback-")


async def _eq(value, expected) -> bool:
    return await value == expected
