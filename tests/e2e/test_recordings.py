"""Recording by phone (R16, R20): a SIPp caller talks (G.711 speech from sip-tester's pcap) to a
SIPp agent phone that echoes the audio back, through the real Asterisk; the conversation is
recorded on the call's bridge, the agent pauses it from the desk API, and the file is fetched
through ARI into our storage: non-empty, as long as the conversation (within a second), silent
where it was paused, gone from Asterisk. Then who may download it, and the retention job."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.ari.errors import AriNotFound
from app.recordings import retention
from app.recordings.audio import silent, wav_info
from phones.sipp import AgentPhone, Caller, Pause, RunningPhone, Speak, free_udp_port, keys
from tests.e2e.conftest import prompt_ms, ts, wait_for_call
from tests.e2e.test_acd import ready, wait_for_state

pytestmark = pytest.mark.asterisk
PASSWORD = "a good passphrase 1"


async def user(service, username: str, role: str, **extra) -> dict[str, str]:
    """A signed-in user of `role`: the headers to act as them."""
    resp = await service.post("/api/users", json={"username": username, "display_name": username,
                                                  "role": role, "password": PASSWORD, **extra})
    assert resp.status_code == 201, resp.text
    resp = await service.post("/api/auth/login", json={"username": username,
                                                       "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


async def stored_recording(service, headers, call_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = (await service.get("/api/recordings", params={"call_id": call_id},
                                   headers=headers)).json()["items"]
        if items and items[0]["status"] != "recording":
            return (await service.get(f"/api/recordings/{items[0]['id']}", headers=headers)).json()
        await asyncio.sleep(0.2)
    raise AssertionError(f"no finished recording of call {call_id} in {timeout}s")


async def test_a_recorded_call_is_kept_paused_where_the_agent_paused_and_expires(
        service, place_call):
    app = service.app  # type: ignore[attr-defined]
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1, "record_calls": True, "recording_retention_days": 7})
    assert resp.status_code == 201, resp.text
    phone = await RunningPhone(AgentPhone(port=free_udp_port(), user="rec", answer_after_ms=400,
                                          echo=True)).start()
    agent_id = None
    try:
        resp = await service.post("/api/agents", json={
            "name": "Rec", "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
            "team": "north", "languages": ["zh", "en"], "contact": phone.phone.contact})
        assert resp.status_code == 201, resp.text
        agent_id = resp.json()["id"]
        agent = await user(service, f"rec-agent-{agent_id[:6]}", "agent", agent_id=agent_id)
        qa = await user(service, f"rec-qa-{agent_id[:6]}", "qa")
        lead = await user(service, f"rec-lead-{agent_id[:6]}", "team_lead", team="north")
        other_lead = await user(service, f"rec-lead2-{agent_id[:6]}", "team_lead", team="south")
        # R16: the notice the caller hears before waiting, built like the other system prompts
        assert (app.state.settings.prompt_build_dir / "zh" / "recording_notice.wav").exists()
        await ready(service, agent_id)

        # The caller presses 0, waits for the agent, then talks for about 9.6 s and hangs up.
        script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700) + (
            Pause(prompt_ms(service, "transferring") + 1000), Speak(), Speak())
        talk_end_ms = sum(s.ms for s in script if isinstance(s, (Pause, Speak))) + 500
        number = "13844448001"
        caller = asyncio.create_task(place_call(Caller(number=number, script=script,
                                                       hangup_after_ms=talk_end_ms)))
        live = await wait_for_state(service, number, "connected")
        await asyncio.sleep(2.0)
        paused_at = datetime.now(UTC)
        resp = await service.post("/api/desk/recording/pause", headers=agent)  # R16: card number
        assert resp.status_code == 200 and resp.json()["paused"] is True, resp.text
        await asyncio.sleep(2.0)
        resumed_at = datetime.now(UTC)
        resp = await service.post("/api/desk/recording/resume", headers=agent)
        assert resp.status_code == 200 and resp.json()["paused"] is False, resp.text
        result = await caller
        assert result.ok, result.output + result.errors
        call = await wait_for_call(service, number)
        assert call["id"] == live["id"] and call["end_reason"] == "completed"
        [enqueued] = [e for e in call["timeline"] if e["trigger"] == "enqueued"]
        assert enqueued["detail"]["recording_notice"] is True  # told before waiting (R16)

        rec = await stored_recording(service, qa, call["id"])
        assert rec["status"] == "stored", rec
        assert (rec["agent_id"], rec["agent_name"], rec["queue"]) == (agent_id, "Rec", "general")
        talk = (ts(call["ended_at"]) - ts(call["connected_at"])).total_seconds()
        assert abs(rec["duration_seconds"] - talk) < 1.0, (rec["duration_seconds"], talk)
        started = ts(rec["started_at"])
        assert ts(rec["retain_until"]) == ts(rec["ended_at"]) + timedelta(days=7)
        [pause] = rec["pauses"]
        assert abs(pause["start_offset_seconds"] - (paused_at - started).total_seconds()) < 0.5
        assert abs(pause["end_offset_seconds"] - (resumed_at - started).total_seconds()) < 0.5

        # The file: through ARI into our storage, whole, and no longer on Asterisk.
        url = f"/api/recordings/{rec['id']}/file"
        data = (await service.get(url, headers=qa)).content
        assert len(data) == rec["size_bytes"] > 44 and data[:4] == b"RIFF"
        assert hashlib.sha256(data).hexdigest() == rec["sha256"]
        info = wav_info(data)
        assert info is not None and abs(info.duration_seconds - rec["duration_seconds"]) < 0.01
        start, end = pause["start_offset_seconds"], pause["end_offset_seconds"]
        assert silent(data, start + 0.3, end - 0.3)  # muted: silence, on the conversation's clock
        assert not silent(data, end + 0.3, rec["duration_seconds"] - 0.3)  # the talk goes on
        name = await _name(app, rec["id"])
        print(f"recording {rec['duration_seconds']:.2f} s for {talk:.2f} s of talk; paused "
              f"{start:.2f}-{end:.2f} s; {len(data)} bytes")
        with pytest.raises(AriNotFound):
            await app.state.ari.stored_recording_file(name)

        # R20: who may download it.
        part = await service.get(url, headers={**lead, "Range": "bytes=0-43"})
        assert part.status_code == 206 and part.content == data[:44]
        assert part.headers["content-range"] == f"bytes 0-43/{len(data)}"
        assert (await service.get(url, headers=other_lead)).status_code == 403
        assert (await service.get(url, headers=agent)).status_code == 403  # off by default
        assert (await service.get(url)).status_code == 403                 # the admin token

        # R16: the retention job, with the time given rather than waited for.
        due = ts(rec["retain_until"]) + timedelta(seconds=1)
        swept = await retention.sweep(sessionmaker=app.state.sessionmaker,
                                      storage=app.state.storage, now=due)
        assert name in swept.expired
        assert app.state.storage.local_path(f"recordings/{started:%Y/%m/%d}/{name}.wav") is None
        gone = await service.get(url, headers=qa)
        assert (gone.status_code, gone.json()["error_id"]) == (410, "recording-expired")
        after = (await service.get(f"/api/recordings/{rec['id']}", headers=qa)).json()
        assert after["status"] == "expired" and after["deleted_at"] is not None
    finally:
        if agent_id is not None:
            await service.post(f"/api/agents/{agent_id}/state", json={"state": "logged_out"})
        assert (await service.delete("/api/queues/general")).status_code == 204
        await phone.stop()


async def _name(app, recording_id: str) -> str:
    """Asterisk's name of the recording (not in the API: it is ours and Asterisk's business)."""
    from app.recordings.models import Recording

    async with app.state.sessionmaker() as session:
        return (await session.get(Recording, uuid.UUID(recording_id))).name
