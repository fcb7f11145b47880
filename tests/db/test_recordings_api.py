"""The recordings API (R16) and who hears what (R20), against real Postgres: metadata with the
paused parts as offsets and wall times, the file with HTTP ranges, the scope of each role,
every access audited; the queue fields; the desk's pause and resume."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.recordings.models import Recording, RecordingPause
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage
from tests.support.clock import FakeClock
from tests.support.desk import (T0, build_world, client, create_user, fast_passwords, make_app,
                                sign_in, sign_in_roles)
from tests.support.fake_telephony import FakeTelephony, wav_bytes

__all__ = ["fast_passwords"]
AUDIO = wav_bytes(12.0, sample=900)


async def stored(sessionmaker, storage_dir, call, agent, *, started_at, pauses=(),
                 status="stored", queue="complaints") -> Recording:
    """A stored recording of `call` by `agent`, 12 s long, its file in storage."""
    name = f"call-{call.id}-{uuid.uuid4().hex[:8]}"
    path = f"recordings/2026/11/23/{name}.wav"
    await LocalStorage(storage_dir).put(path, AUDIO)
    async with sessionmaker() as session, session.begin():
        row = Recording(id=uuid.uuid4(), name=name, call_id=call.id, agent_id=agent.id,
                        queue=queue, status=status, started_at=started_at,
                        ended_at=started_at + timedelta(seconds=12), duration_seconds=12.0,
                        format="wav", size_bytes=len(AUDIO),
                        sha256=hashlib.sha256(AUDIO).hexdigest(),
                        path=path if status == "stored" else None,
                        retain_until=started_at + timedelta(days=30))
        session.add(row)
        await session.flush()
        for start, end in pauses:
            session.add(RecordingPause(recording_id=row.id,
                                       started_at=started_at + timedelta(seconds=start),
                                       ended_at=started_at + timedelta(seconds=end)
                                       if end is not None else None))
    return row


@pytest.fixture
async def setup(sessionmaker, tmp_path, fast_passwords):
    app = make_app(sessionmaker, FakeClock(T0 + timedelta(minutes=5)), storage_dir=tmp_path)
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world)
    rec_a = await stored(sessionmaker, tmp_path, world.call_c, world.agent_a,
                         started_at=T0 - timedelta(minutes=1), pauses=[(3.5, 6.25)])
    rec_b = await stored(sessionmaker, tmp_path, world.call_d, world.agent_b,
                         started_at=T0 - timedelta(minutes=2), queue="general")
    return app, world, rec_a, rec_b


async def audits(sessionmaker, entity_id: str) -> list[AuditEntry]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "recording", AuditEntry.entity_id == entity_id)
            .order_by(AuditEntry.id)))


async def test_an_inspector_reads_a_recording_with_its_pauses_as_offsets_and_wall_times(
        setup, sessionmaker):
    app, world, rec_a, _ = setup
    async with client(app, world.tokens["qa"]) as c:
        resp = await c.get(f"/api/recordings/{rec_a.id}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"id", "call_id", "agent_id", "agent_name", "queue", "status", "started_at",
                         "ended_at", "duration_seconds", "format", "size_bytes", "sha256",
                         "retain_until", "deleted_at", "pauses"}
    assert (body["agent_name"], body["status"], body["duration_seconds"], body["size_bytes"]) == (
        "A", "stored", 12.0, len(AUDIO))
    [pause] = body["pauses"]
    assert (pause["start_offset_seconds"], pause["end_offset_seconds"]) == (3.5, 6.25)
    started = rec_a.started_at
    assert pause["started_at"] == (started + timedelta(seconds=3.5)).isoformat().replace(
        "+00:00", "Z")
    [entry] = await audits(sessionmaker, str(rec_a.id))  # R20: the view is audited
    assert (entry.actor, entry.action, entry.reason, entry.call_id) == (
        "qa-1", "view", "metadata", world.call_c.id)


async def test_the_file_is_served_whole_or_by_range_and_every_download_is_audited(
        setup, sessionmaker):
    app, world, rec_a, _ = setup
    url = f"/api/recordings/{rec_a.id}/file"
    async with client(app, world.tokens["manager"]) as c:
        whole = await c.get(url)
        part = await c.get(url, headers={"Range": "bytes=100-199"})
        tail = await c.get(url, headers={"Range": "bytes=-44"})
        bad = await c.get(url, headers={"Range": f"bytes={len(AUDIO) + 10}-"})
    assert whole.status_code == 200 and whole.content == AUDIO
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert part.status_code == 206, part.text
    assert part.headers["content-range"] == f"bytes 100-199/{len(AUDIO)}"
    assert part.content == AUDIO[100:200]
    assert tail.status_code == 206 and tail.content == AUDIO[-44:]
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(AUDIO)}"
    downloads = [e for e in await audits(sessionmaker, str(rec_a.id)) if e.action == "download"]
    assert [e.detail.get("range") for e in downloads] == [  # every request, even a bad range
        None, "bytes=100-199", "bytes=-44", f"bytes={len(AUDIO) + 10}-"]


async def test_a_team_lead_hears_only_their_teams_agents(setup, sessionmaker):
    app, world, rec_a, rec_b = setup  # the lead leads north: A, not B (south)
    async with client(app, world.tokens["team_lead"]) as c:
        listed = (await c.get("/api/recordings")).json()["items"]
        assert [r["id"] for r in listed] == [str(rec_a.id)]
        assert (await c.get(f"/api/recordings/{rec_a.id}/file")).status_code == 200
        assert (await c.get(f"/api/recordings/{rec_b.id}")).status_code == 403
        assert (await c.get(f"/api/recordings/{rec_b.id}/file")).status_code == 403
    await create_user(app, "lead-nobody", "team_lead")
    async with client(app, await sign_in(app, "lead-nobody")) as c:
        assert (await c.get("/api/recordings")).json()["items"] == []


@pytest.mark.parametrize("allowed", [False, True])
async def test_agents_hear_nothing_unless_allowed_and_then_only_their_own(
        sessionmaker, tmp_path, fast_passwords, allowed):
    app = make_app(sessionmaker, FakeClock(T0), storage_dir=tmp_path,
                   recordings_agent_access=allowed)  # HOTLINE_RECORDINGS_AGENT_ACCESS
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent"])  # A
    own = await stored(sessionmaker, tmp_path, world.call_c, world.agent_a, started_at=T0)
    other = await stored(sessionmaker, tmp_path, world.call_d, world.agent_b, started_at=T0)
    async with client(app, world.tokens["agent"]) as c:
        listing = await c.get("/api/recordings")
        mine = await c.get(f"/api/recordings/{own.id}/file")
        theirs = await c.get(f"/api/recordings/{other.id}")
    if not allowed:  # R20: off by default
        assert (listing.status_code, mine.status_code, theirs.status_code) == (403, 403, 403)
    else:
        assert [r["id"] for r in listing.json()["items"]] == [str(own.id)]
        assert (mine.status_code, theirs.status_code) == (200, 403)


async def test_the_admin_token_hears_no_recordings(setup):
    app, world, rec_a, _ = setup
    async with client(app, world.tokens["admin"]) as c:
        assert (await c.get("/api/recordings")).status_code == 403
        assert (await c.get(f"/api/recordings/{rec_a.id}/file")).status_code == 403


async def test_an_expired_recording_is_gone_and_one_still_recording_has_no_file(
        setup, sessionmaker, tmp_path):
    app, world, _, _ = setup
    expired = await stored(sessionmaker, tmp_path, world.call_c, world.agent_a, started_at=T0,
                           status="expired")
    live = await stored(sessionmaker, tmp_path, world.call_c, world.agent_a, started_at=T0,
                        status="recording")
    async with client(app, world.tokens["qa"]) as c:
        gone = await c.get(f"/api/recordings/{expired.id}/file")
        busy = await c.get(f"/api/recordings/{live.id}/file")
        meta = await c.get(f"/api/recordings/{expired.id}")
        missing = await c.get(f"/api/recordings/{uuid.uuid4()}")
    assert (gone.status_code, gone.json()["error_id"]) == (410, "recording-expired")
    assert (busy.status_code, busy.json()["error_id"]) == (409, "recording-not-stored")
    assert meta.status_code == 200 and meta.json()["status"] == "expired"
    assert missing.status_code == 404


async def test_the_list_filters_by_call_agent_queue_and_time_and_pages(setup, sessionmaker,
                                                                       tmp_path):
    app, world, rec_a, rec_b = setup
    extra = [await stored(sessionmaker, tmp_path, world.call_c, world.agent_a,
                          started_at=T0 - timedelta(minutes=10 + n)) for n in range(3)]
    async with client(app, world.tokens["qa"]) as c:
        async def ids(**params):
            resp = await c.get("/api/recordings", params=params)
            assert resp.status_code == 200, resp.text
            return [r["id"] for r in resp.json()["items"]]

        assert await ids(call_id=str(world.call_d.id)) == [str(rec_b.id)]
        assert await ids(agent_id=str(world.agent_b.id)) == [str(rec_b.id)]
        assert await ids(queue="general") == [str(rec_b.id)]
        assert await ids(since=(T0 - timedelta(minutes=5)).isoformat()) == [
            str(rec_a.id), str(rec_b.id)]
        assert await ids(until=(T0 - timedelta(minutes=5)).isoformat()) == [
            str(r.id) for r in extra]
        first = (await c.get("/api/recordings", params={"limit": 2})).json()
        second = (await c.get("/api/recordings", params={"limit": 2,
                                                         "cursor": first["next_cursor"]})).json()
        third = (await c.get("/api/recordings", params={"limit": 2,
                                                        "cursor": second["next_cursor"]})).json()
        assert [r["id"] for r in first["items"] + second["items"] + third["items"]] == [
            str(rec_a.id), str(rec_b.id), *[str(r.id) for r in extra]]
        assert third["next_cursor"] is None
        assert (await c.get("/api/recordings", params={"since": "2026-11-23T08:00:00"})
                ).status_code == 400  # no offset
        bad_cursor = await c.get("/api/recordings", params={"cursor": "nonsense"})
        assert (bad_cursor.status_code, bad_cursor.json()["error_id"]) == (400, "invalid-cursor")
        backwards = await c.get("/api/recordings", params={"since": T0.isoformat(),
                                                           "until": T0.isoformat()})
        assert (backwards.status_code, backwards.json()["error_id"]) == (400, "invalid-range")
        assert (await c.get("/api/recordings", params={"status": "lost"})).status_code == 422


async def test_queues_take_recording_settings_with_validation(setup):
    app, world, _, _ = setup
    async with client(app, world.tokens["admin"]) as c:
        resp = await c.post("/api/queues", json={"name": "billing", "call_type": "inquiry",
                                                 "record_calls": True,
                                                 "recording_retention_days": 365})
        assert resp.status_code == 201, resp.text
        assert (resp.json()["record_calls"], resp.json()["recording_retention_days"]) == (True, 365)
        for bad in (0, 3651, "30", 1.5, True):
            resp = await c.patch("/api/queues/billing", json={"recording_retention_days": bad})
            assert resp.status_code == 422, (bad, resp.text)
        resp = await c.patch("/api/queues/billing", json={"recording_retention_days": None,
                                                          "record_calls": False})
        assert resp.status_code == 200, resp.text
        assert (resp.json()["record_calls"], resp.json()["recording_retention_days"]) == (False, None)
        assert (await c.patch("/api/queues/billing", json={"record_calls": None})
                ).status_code == 422


async def test_the_agent_pauses_and_resumes_the_recording_of_their_own_call(
        sessionmaker, tmp_path, fast_passwords):
    app = make_app(sessionmaker, FakeClock(T0), storage_dir=tmp_path)
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent"])
    await create_user(app, "agent-e", "agent", agent_id=world.agent_e.id)
    other = await sign_in(app, "agent-e")
    fake = FakeTelephony()
    app.state.recorder = recorder = Recorder(
        settings=app.state.settings, telephony=fake, sessionmaker=sessionmaker,
        clock=app.state.clock, storage=LocalStorage(tmp_path))
    async with client(app, world.tokens["agent"]) as c:
        assert (await c.get("/api/desk/recording")).json() is None  # not recorded (yet)
        assert (await c.post("/api/desk/recording/pause")).json()["error_id"] == "no-recording"
        active = await recorder.start(call_id=world.call_c.id, agent_id=world.agent_a.id,
                                      queue="complaints", bridge_id=f"call-{world.call_c.id}")
        assert (await c.get("/api/desk/recording")).json()["paused"] is False
        app.state.clock.advance(4)
        paused = await c.post("/api/desk/recording/pause")
        assert paused.status_code == 200, paused.text
        assert paused.json()["paused"] is True and fake.live[active.name][1] is True
        async with client(app, other) as e:  # R20: only the agent's own call
            assert (await e.post("/api/desk/recording/resume")).status_code == 409
        app.state.clock.advance(2)
        resumed = await c.post("/api/desk/recording/resume")
        assert resumed.json()["paused"] is False and fake.live[active.name][1] is False
    async with sessionmaker() as session:
        [pause] = list(await session.scalars(select(RecordingPause).where(
            RecordingPause.recording_id == active.id)))
    assert (pause.started_at, pause.ended_at) == (T0 + timedelta(seconds=4),
                                                  T0 + timedelta(seconds=6))
    assert pause.by_user_id is not None
