"""Recording agent conversations (R16) in the call flow, against real Postgres and the recording
fake of the telephony port: the notice, one recording per agent conversation, the agent's pause
(a mute, marked), the file kept in our storage with its metadata, failures, and a restart
(tests/e2e/test_recordings.py does it with SIPp phones and the real Asterisk)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.calls.models import Call
from app.recordings import recorder as recorder_module
from app.recordings.models import Recording, RecordingPause
from app.recordings.storage import LocalStorage
from routing.models import QueueRow
from tests.db.test_acd import (CYCLE, add_agents, agent_answers, connected, offered_legs, rows,
                               to_queue, transfer, warm)
from tests.db.test_call_flow import DEMO, feed, make_stasis
from tests.support import events as ev
from tests.support.fake_telephony import FakeTelephony, wav_bytes

# The call flow runs many sessions at once: real commits on an emptied call log (conftest).
pytestmark = pytest.mark.committing


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO,
                               ring_cycle_seconds=CYCLE, max_rings=3,
                               recording_retention_days=90)
    yield stasis
    await stasis.close()


async def recording_queue(sessionmaker, stasis, *, record: bool = True,
                          days: int | None = 30) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(update(QueueRow).where(QueueRow.name == "general")
                              .values(record_calls=record, recording_retention_days=days))
    await stasis.acd.start()


def recorded(fake: FakeTelephony) -> list[tuple]:
    return [c for c in fake.commands if c[0] == "record_bridge"]


async def hang_up(stasis, cid: str) -> None:
    await feed(stasis, ev.hangup_request(cid), ev.stasis_end(cid))
    await stasis.recorder.drain()


async def test_a_recording_queue_tells_the_caller_and_keeps_the_conversation_in_our_storage(
        stasis, fake, sessionmaker, clock, tmp_path):
    agents = await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis, days=30)
    await to_queue(stasis, fake, "k1")
    call = stasis.flow.calls["k1"]
    notice = [c for c in fake.commands if c[0] == "play_on_bridge"]
    assert notice == [("play_on_bridge", f"hold-{call.id}",  # on the holding bridge, first
                       ("sound:/srv/hotline/prompts/zh/recording_notice",),
                       f"{call.id}.recording_notice")]
    assert recorded(fake) == []  # nothing recorded while the caller waits
    async with sessionmaker() as session:  # the timeline says the caller was told
        from app.calls import service as calls

        enqueued = [e for e in (await calls.get(session=session, call_id=call.id)).events
                    if e.trigger == "enqueued"]
    assert enqueued[0].detail["recording_notice"] is True
    [leg] = offered_legs(fake)
    await agent_answers(stasis, fake, leg, call.id, clock, ring_for=CYCLE / 2)
    [(_, bridge, name)] = recorded(fake)
    assert bridge == f"call-{call.id}" and name.startswith(f"call-{call.id}-")
    # answered before the notice had played to its end: both hear it on the call's bridge
    assert [c for c in fake.commands if c[0] == "play_on_bridge"][1:] == [
        ("play_on_bridge", f"call-{call.id}", ("sound:/srv/hotline/prompts/zh/recording_notice",),
         f"{call.id}.recording_notice.again")]
    [row] = await rows(sessionmaker, Recording, call_id=call.id)  # written as it starts
    assert (row.status, row.agent_id, row.queue, row.name) == (
        "recording", agents["wang"], "general", name)
    audio = wav_bytes(7.25, sample=1200)
    fake.recorded_audio[name] = audio
    clock.advance(7.25)
    await hang_up(stasis, "k1")
    assert ("stop_live_recording", name) in fake.commands
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "stored" and row.error is None
    assert row.duration_seconds == 7.25  # from the WAV header
    assert (row.size_bytes, row.sha256) == (len(audio), hashlib.sha256(audio).hexdigest())
    assert row.ended_at == row.started_at + timedelta(seconds=7.25)
    assert row.retain_until == row.ended_at + timedelta(days=30)  # the queue's days
    stored = tmp_path / "storage" / row.path
    assert stored.read_bytes() == audio and row.path.startswith("recordings/2026/11/23/")
    assert ("delete_stored_recording", name) in fake.commands  # not left on Asterisk
    assert name not in fake.recordings


async def test_a_notice_heard_to_its_end_is_not_repeated_when_the_agent_answers(
        stasis, fake, sessionmaker, clock):  # R16
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    await to_queue(stasis, fake, "k1")
    call = stasis.flow.calls["k1"]
    fake.playbacks.pop(f"{call.id}.recording_notice")  # played to its end
    [leg] = offered_legs(fake)
    await agent_answers(stasis, fake, leg, call.id, clock, ring_for=CYCLE / 2)
    assert len(recorded(fake)) == 1
    assert [c[-1] for c in fake.commands if c[0] == "play_on_bridge"] == [
        f"{call.id}.recording_notice"]  # once, on the holding bridge
    await hang_up(stasis, "k1")


async def test_a_queue_that_does_not_record_neither_tells_nor_records(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis, record=False)
    call, _ = await connected(stasis, fake, clock, "k2")
    await hang_up(stasis, "k2")
    assert recorded(fake) == [] and not [c for c in fake.commands if c[0] == "play_on_bridge"]
    assert await rows(sessionmaker, Recording, call_id=call.id) == []


async def test_the_service_setting_is_the_retention_when_the_queue_has_none(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis, days=None)
    call, _ = await connected(stasis, fake, clock, "k3")
    await hang_up(stasis, "k3")
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.retain_until == row.ended_at + timedelta(days=90)  # HOTLINE_RECORDING_RETENTION_DAYS


async def test_an_agents_pause_mutes_the_recording_and_is_marked_and_closed_at_the_end(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    call, _ = await connected(stasis, fake, clock, "p1")
    [(_, _, name)] = recorded(fake)
    fake.recorded_audio[name] = wav_bytes(10)
    start = clock.now()
    clock.advance(2)
    active = await stasis.recorder.pause(agent_id=agents["wang"], user_id=None)
    assert fake.live[name][1] is True and active.paused_since == start + timedelta(seconds=2)
    await stasis.recorder.pause(agent_id=agents["wang"], user_id=None)  # twice: still one pause
    clock.advance(3)
    await stasis.recorder.resume(agent_id=agents["wang"])
    assert fake.live[name][1] is False
    clock.advance(1)
    await stasis.recorder.pause(agent_id=agents["wang"], user_id=None)  # paused at the end
    assert [c[0] for c in fake.commands if "mute" in c[0]] == [
        "mute_live_recording", "unmute_live_recording", "mute_live_recording"]
    clock.advance(4)
    await hang_up(stasis, "p1")
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    pauses = sorted(await rows(sessionmaker, RecordingPause, recording_id=row.id),
                    key=lambda p: p.started_at)
    assert [((p.started_at - start).total_seconds(), (p.ended_at - start).total_seconds())
            for p in pauses] == [(2, 5), (6, 10)]  # the open pause closes at the end
    with pytest.raises(recorder_module.NoRecording):  # nothing to pause any more
        await stasis.recorder.pause(agent_id=agents["wang"], user_id=None)


async def test_a_blind_transfer_to_another_agent_is_a_new_recording_with_that_agent(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await recording_queue(sessionmaker, stasis)
    call, _ = await connected(stasis, fake, clock, "t1")
    assert (await transfer(stasis, "t1", agent_id=agents["zhao"])).result() is None
    await stasis.recorder.drain()
    [first] = await rows(sessionmaker, Recording, call_id=call.id)
    assert (first.agent_id, first.status) == (agents["wang"], "stored")
    await agent_answers(stasis, fake, offered_legs(fake)[-1], call.id, clock, ring_for=CYCLE / 2)
    await hang_up(stasis, "t1")
    recs = sorted(await rows(sessionmaker, Recording, call_id=call.id), key=lambda r: r.started_at)
    assert [(r.agent_id, r.status) for r in recs] == [(agents["wang"], "stored"),
                                                       (agents["zhao"], "stored")]
    assert len({r.name for r in recs}) == 2
    # one notice: the caller heard it before the first wait
    assert len([c for c in fake.commands if c[-1] == f"{call.id}.recording_notice"]) == 1


async def test_a_warm_transfer_keeps_recording_the_consultation_then_starts_the_new_agents(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await recording_queue(sessionmaker, stasis)
    call, _ = await connected(stasis, fake, clock, "w1")
    await warm(stasis, "w1", "warm", agents["zhao"])
    consult_leg = [c for c in fake.commands if c[0] == "originate"][-1][2]
    await agent_answers(stasis, fake, consult_leg, call.id, clock, ring_for=CYCLE / 2)
    assert len(recorded(fake)) == 1  # the briefing is part of wang's conversation
    assert (await warm(stasis, "w1", "complete")).result() is None
    assert len(recorded(fake)) == 2
    await hang_up(stasis, "w1")
    recs = sorted(await rows(sessionmaker, Recording, call_id=call.id), key=lambda r: r.started_at)
    assert [(r.agent_id, r.status) for r in recs] == [(agents["wang"], "stored"),
                                                       (agents["zhao"], "stored")]


async def test_a_recording_asterisk_cannot_give_us_is_marked_failed_and_left_there(
        stasis, fake, sessionmaker, clock, monkeypatch):
    monkeypatch.setattr(recorder_module, "FETCH_ATTEMPTS", 2)
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    call, _ = await connected(stasis, fake, clock, "f1")
    fake.fail_on.add("stored_recording_file")
    await hang_up(stasis, "f1")
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "failed" and "fetch failed" in row.error and row.path is None
    assert not [c for c in fake.commands if c[0] == "delete_stored_recording"]
    assert row.name in fake.recordings  # nothing is lost: Asterisk still has it
    assert stasis.recorder._finished == {}  # its wait for RecordingFinished is not kept either


async def test_a_recording_our_storage_cannot_take_is_failed_and_kept_on_asterisk(
        stasis, fake, sessionmaker, clock, tmp_path):
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    blocker = tmp_path / "full"
    blocker.write_text("not a directory")
    stasis.recorder.storage = LocalStorage(blocker)  # every write fails
    call, _ = await connected(stasis, fake, clock, "f2")
    await hang_up(stasis, "f2")
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "failed" and row.error.startswith("could not store")
    assert row.name in fake.recordings


async def test_a_recording_that_cannot_start_leaves_the_call_connected(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    fake.fail_on.add("record_bridge")
    call, _ = await connected(stasis, fake, clock, "f3")
    assert call.state == "connected"
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "failed" and row.error.startswith("could not start")
    await hang_up(stasis, "f3")


async def test_asterisk_ending_the_recording_by_itself_is_kept_too(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await recording_queue(sessionmaker, stasis)
    call, _ = await connected(stasis, fake, clock, "e1")
    [(_, bridge, name)] = recorded(fake)
    await fake.stop_live_recording(name)  # e.g. the bridge went away under us
    await stasis.on_event(ev.parsed(ev.raw("RecordingFinished", recording={
        "name": name, "format": "wav", "state": "done", "target_uri": f"bridge:{bridge}"})))
    await stasis.recorder.drain()
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "stored"
    assert stasis.recorder.active == {}
    await hang_up(stasis, "e1")


async def test_after_a_restart_the_live_recording_is_the_calls_again_and_kept_at_the_end(
        fake, sessionmaker, clock, tmp_path):
    agents = await add_agents(sessionmaker, clock, "wang")
    first = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    await recording_queue(sessionmaker, first)
    call, _ = await connected(first, fake, clock, "r1")
    [(_, _, name)] = recorded(fake)
    await first.recorder.pause(agent_id=agents["wang"], user_id=None)
    await first.close()  # the service stops; Asterisk goes on recording
    assert name in fake.live
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    await second.acd.start()
    await second.reconcile()
    await second.drain()
    active = second.recorder.of_agent(agents["wang"])
    assert active is not None and active.name == name and active.paused_since is not None
    clock.advance(1)
    await second.recorder.resume(agent_id=agents["wang"])
    await hang_up(second, "r1")
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "stored"
    [pause] = await rows(sessionmaker, RecordingPause, recording_id=row.id)
    assert pause.ended_at is not None
    await second.close()


async def test_a_recording_left_open_by_a_call_that_ended_meanwhile_is_fetched_at_reconnect(
        fake, sessionmaker, clock, tmp_path):
    await add_agents(sessionmaker, clock, "wang")
    first = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    await recording_queue(sessionmaker, first)
    call, _ = await connected(first, fake, clock, "r2")
    [(_, _, name)] = recorded(fake)
    await first.close()
    # The caller and the agent hang up while the service is down: Asterisk finishes the file.
    await fake.stop_live_recording(name)
    fake.channels.pop("r2", None)
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    await second.acd.start()
    await second.reconcile()
    await second.drain()
    await second.recorder.drain()
    async with sessionmaker() as session:
        row = await session.scalar(select(Recording).where(Recording.call_id == call.id))
        ended = await session.scalar(select(Call.end_reason).where(Call.id == call.id))
    assert ended == "lost_track" and row.status == "stored" and row.duration_seconds == 1.0
    await second.close()


async def test_recordings_of_calls_that_ended_before_a_restart_are_recovered(
        fake, sessionmaker, clock, tmp_path):
    await add_agents(sessionmaker, clock, "wang")
    first = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    await recording_queue(sessionmaker, first)
    call, _ = await connected(first, fake, clock, "r3")
    [(_, _, name)] = recorded(fake)
    fake.fail_on.add("stored_recording_file")  # the service dies before it has the file
    await feed(first, ev.hangup_request("r3"), ev.stasis_end("r3"))
    for task in list(first.recorder._tasks):
        task.cancel()
    await asyncio.gather(*first.recorder._tasks, return_exceptions=True)
    await first.close()
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "recording"
    fake.fail_on.clear()
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    assert await second.recorder.recover() == 1
    await second.recorder.drain()
    [row] = await rows(sessionmaker, Recording, call_id=call.id)
    assert row.status == "stored" and name not in fake.recordings
    await second.close()
