"""The call flow with the demo voice menu, against real Postgres and a recording fake of the
telephony port (the same flow runs against the real Asterisk in tests/e2e)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select

from app.ari.models import Channel
from app.callbacks.models import CallbackTask, Voicemail
from app.calls import service
from app.calls.models import Call
from app.calls.stasis import CallStasis
from app.complaints.models import Complaint
from app.main import lookup_providers
from ivr import service as ivr_store
from ivr.lookup import Lookups
from ivr.runtime import MenuRuntime
from tests.support import events as ev
from tests.support.fake_telephony import FakeTelephony
from tests.support.settings import make_settings

# The call flow runs many sessions at once: real commits on an emptied call log (conftest).
pytestmark = pytest.mark.committing

DEMO = Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml"


async def make_stasis(fake, sessionmaker, clock, tmp_path, ivr_file: Path = DEMO,
                      **overrides) -> CallStasis:
    settings = make_settings(ivr_file=ivr_file, storage_dir=tmp_path / "storage", **overrides)
    menus = MenuRuntime(settings=settings, sessionmaker=sessionmaker)
    await menus.start()
    return CallStasis(settings=settings, telephony=fake, sessionmaker=sessionmaker, clock=clock,
                      menus=menus, lookups=Lookups(providers=lookup_providers(sessionmaker)))


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path)
    yield stasis
    await stasis.close()


async def feed(stasis: CallStasis, *raw_events: dict) -> None:
    for raw in raw_events:
        await stasis.on_event(ev.parsed(raw))
    await stasis.drain()


async def settle(stasis: CallStasis) -> None:
    """Let short timers and lookups finish, then what they queued."""
    for _ in range(5):
        await asyncio.sleep(0.03)
        await stasis.drain()


async def prompt_done(stasis: CallStasis, cid: str) -> None:
    """Asterisk says the prompt playing now has finished."""
    call = stasis.flow.calls[cid]
    playback = (f"{call.id}.ivr{call.ivr.token}" if call.state == "in_ivr"
                else f"{call.id}.{call.state}")
    await feed(stasis, ev.playback_finished(cid, playback))


async def keys(stasis: CallStasis, cid: str, digits: str) -> None:
    await feed(stasis, *[ev.dtmf(cid, d) for d in digits])


def said(stasis: CallStasis, fake: FakeTelephony) -> list[list[str]]:
    """Prompt names of every play command, in order (menu prompts decoded from their keys)."""
    names = {key: name for (name, _), key in stasis.flow.menus.current.keys.items()}
    return [[names.get(m.rsplit("/", 1)[1], m.rsplit("/", 1)[1]) for m in media]
            for media in fake.played()]


async def call_of(sessionmaker, channel_id: str) -> Call:
    async with sessionmaker() as session:
        row = await session.scalar(select(Call).where(Call.channel_id == channel_id))
        return await service.get(session=session, call_id=row.id)


async def path_of(sessionmaker, call: Call) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        return [(s.node, s.input, s.outcome)
                for s in await ivr_store.path_of(session=session, call_id=call.id)]


def arrive(fake: FakeTelephony, channel_id: str, **kw) -> dict:
    fake.channels[channel_id] = Channel.model_validate(ev.channel(channel_id, state="Up"))
    return ev.stasis_start(channel_id, **kw)


async def test_call_is_answered_at_once_and_the_menu_greets_in_mandarin(stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c1"))
    assert fake.names()[:2] == ["answer", "play"]  # R1: answered before anything else
    assert said(stasis, fake) == [["greeting"]]  # R2: the menu's greeting names the organisation
    assert fake.played()[0][0].startswith("sound:/srv/hotline/prompts/ivr/")
    call = await call_of(sessionmaker, "c1")
    assert [e.trigger for e in call.events] == ["arrived", "answered", "ivr_started"]
    assert call.ivr_version_id == stasis.flow.menus.current.version_id
    await prompt_done(stasis, "c1")
    assert said(stasis, fake)[-1] == ["main_menu"]
    assert await path_of(sessionmaker, call) == [
        ("welcome", "", "hours"), ("hours", "open", "returning"), ("returning", "none", "main")]


async def test_agent_key_with_barge_in_reaches_the_queue_and_a_call_back_is_promised(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c2", number="13900002222"))
    await prompt_done(stasis, "c2")
    await keys(stasis, "c2", "0")  # while the main menu still plays
    assert fake.names()[-2] == "stop_playback"
    assert said(stasis, fake)[-1] == ["transferring"]
    await prompt_done(stasis, "c2")
    assert said(stasis, fake)[-1] == ["queue_unavailable", "thanks"]
    await prompt_done(stasis, "c2")
    await settle(stasis)
    assert fake.names()[-1] == "hangup"
    await feed(stasis, ev.stasis_end("c2"))
    call = await call_of(sessionmaker, "c2")
    assert (call.end_reason, call.hangup_by, call.ivr_outcome) == ("overflow", "system",
                                                                   "queue:general")
    assert [e.trigger for e in call.events][3:] == [
        "no_agent", "prompt_finished", "grace_elapsed", "channel_gone"]
    assert ("main", "0", "agent") in await path_of(sessionmaker, call)
    async with sessionmaker() as session:
        task = await session.scalar(select(CallbackTask).where(CallbackTask.call_id == call.id))
    assert (task.source, task.customer_number, task.status) == ("no_agent", "13900002222", "open")


async def test_caller_who_hangs_up_in_the_menu_is_abandoned_in_ivr_at_that_node(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c3"))
    await prompt_done(stasis, "c3")
    await keys(stasis, "c3", "1")  # the consultation submenu
    await feed(stasis, ev.hangup_request("c3"), ev.stasis_end("c3"))
    call = await call_of(sessionmaker, "c3")
    assert (call.end_reason, call.hangup_by, call.ivr_node) == ("abandoned_in_ivr", "caller",
                                                                "consult")
    assert [e.detail.get("ivr_node") for e in call.events][-1] == "consult"


async def test_a_first_call_adds_the_caller_to_the_archive_and_a_later_one_links_them_too(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c8", number="13933334444"))  # R14: a new customer
    await settle(stasis)  # the archive entry is made beside the call
    first = await call_of(sessionmaker, "c8")
    assert first.customer_id is not None
    await feed(stasis, arrive(fake, "c9", number="13933334444"))  # known: via the call log
    assert (await call_of(sessionmaker, "c9")).customer_id == first.customer_id


async def test_self_service_reads_back_a_complaints_status(stasis, fake, sessionmaker):
    async with sessionmaker() as session, session.begin():
        session.add(Complaint(number="20261234", customer_number="+8613800000000",
                              status="in_progress"))
    await feed(stasis, arrive(fake, "c4"))
    await prompt_done(stasis, "c4")
    await keys(stasis, "c4", "2")
    assert said(stasis, fake)[-1] == ["enter_complaint_number"]
    await keys(stasis, "c4", "20261234#")
    await settle(stasis)
    assert said(stasis, fake)[-1] == [
        "complaint_number_is", "digit_2", "digit_0", "digit_2", "digit_6", "digit_1", "digit_2",
        "digit_3", "digit_4", "status_in_progress"]
    await prompt_done(stasis, "c4")
    assert said(stasis, fake)[-1] == ["after_lookup_menu"]
    path = await path_of(sessionmaker, await call_of(sessionmaker, "c4"))
    assert ("lookup_complaint", "20261234", "answered") in path


async def test_a_caller_with_an_open_complaint_goes_straight_to_their_matter(
        stasis, fake, sessionmaker):
    async with sessionmaker() as session, session.begin():
        session.add(Complaint(number="7001", customer_number="+8613911112222", status="dispatched"))
    await feed(stasis, arrive(fake, "c5", number="13911112222"))
    await prompt_done(stasis, "c5")
    assert said(stasis, fake)[-1] == ["returning_complaint", "transferring"]


def closed_today_menu(tmp_path: Path, now: datetime) -> Path:
    """The demo menu with `now`'s day a holiday, in the hours node's own time zone (not this
    machine's)."""
    menu = yaml.safe_load(DEMO.read_text())
    hours = menu["nodes"]["hours"]
    hours["holidays"] = [now.astimezone(ZoneInfo(hours["timezone"])).date().isoformat()]
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(menu, allow_unicode=True))
    return path


async def test_out_of_hours_caller_leaves_a_message_stored_with_a_call_back_task(
        fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path,
                               closed_today_menu(tmp_path, clock.now()))
    await feed(stasis, arrive(fake, "c6", number="13700007777"))
    await prompt_done(stasis, "c6")
    assert said(stasis, fake)[-1] == ["closed_message"]
    await prompt_done(stasis, "c6")
    assert said(stasis, fake)[-1] == ["leave_message"]
    await prompt_done(stasis, "c6")
    record = [c for c in fake.commands if c[0] == "record"][-1]
    name = record[2]
    fake.recordings[name] = b"RIFF" + b"\0" * 4000
    await feed(stasis, ev.recording_finished("c6", name, duration=4))
    assert said(stasis, fake)[-1] == ["message_saved"]
    assert ("delete_stored_recording", name) in fake.commands  # Asterisk's disk is not our store
    await prompt_done(stasis, "c6")
    assert said(stasis, fake)[-1] == ["thanks"]
    await prompt_done(stasis, "c6")
    await settle(stasis)
    await feed(stasis, ev.stasis_end("c6"))
    call = await call_of(sessionmaker, "c6")
    assert call.end_reason == "voicemail"
    async with sessionmaker() as session:
        voicemail = await session.scalar(select(Voicemail).where(Voicemail.call_id == call.id))
        task = await session.scalar(select(CallbackTask).where(CallbackTask.call_id == call.id))
    assert voicemail.caller_number == "13700007777" and voicemail.size_bytes == 4004
    assert (tmp_path / "storage" / voicemail.path).read_bytes() == fake.recordings.get(
        name, b"RIFF" + b"\0" * 4000)
    assert (task.source, task.voicemail_id) == ("voicemail", voicemail.id)
    await stasis.close()


async def test_a_caller_who_hangs_up_while_recording_still_leaves_the_message(
        fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path,
                               closed_today_menu(tmp_path, clock.now()))
    await feed(stasis, arrive(fake, "c7"))
    for _ in range(3):
        await prompt_done(stasis, "c7")
    name = [c for c in fake.commands if c[0] == "record"][-1][2]
    fake.recordings[name] = b"RIFF" + b"\1" * 8000
    await feed(stasis, ev.hangup_request("c7"), ev.stasis_end("c7"))
    call = await call_of(sessionmaker, "c7")
    assert call.end_reason == "voicemail"
    await stasis.close()


async def test_when_a_prompt_cannot_play_the_caller_hears_an_apology_and_a_clean_hangup(
        stasis, fake, sessionmaker):
    fake.fail_on = {"play"}
    await feed(stasis, arrive(fake, "c8"))
    assert fake.names() == ["answer", "play", "play", "hangup"]  # greeting, apology, hang up
    await feed(stasis, ev.stasis_end("c8"))
    call = await call_of(sessionmaker, "c8")
    assert [e.trigger for e in call.events][-3:] == ["failed", "hang_up", "channel_gone"]
    assert (call.end_reason, call.hangup_by) == ("failed", "system")


async def test_reconcile_closes_calls_that_ended_unseen_at_the_time_last_seen(
        stasis, fake, sessionmaker, clock):
    await feed(stasis, arrive(fake, "gone-1"))
    clock.advance(30)
    await stasis.on_disconnect()
    last_seen = clock.now()
    del fake.channels["gone-1"]  # the caller hung up while we were disconnected
    clock.advance(60)
    await stasis.reconcile()
    await stasis.drain()
    call = await call_of(sessionmaker, "gone-1")
    assert call.end_reason == "lost_track" and call.hangup_by is None
    assert call.ended_at == last_seen
    assert [e.trigger for e in call.events][-1] == "lost_track"


async def test_reconcile_carries_on_a_call_whose_prompt_ended_while_we_were_away(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "live-1"))
    call = stasis.flow.calls["live-1"]
    await stasis.on_disconnect()
    fake.playbacks.pop(f"{call.id}.ivr{call.ivr.token}")  # its PlaybackFinished was missed
    await stasis.reconcile()
    await stasis.drain()
    assert ("subscribe", "channel:live-1") in fake.commands
    assert said(stasis, fake)[-1] == ["main_menu"]


async def test_after_a_restart_an_open_call_resumes_the_menu_at_its_node(
        fake, sessionmaker, clock, tmp_path):
    first = await make_stasis(fake, sessionmaker, clock, tmp_path)
    await feed(first, arrive(fake, "restart-1"), arrive(fake, "restart-2"))
    await prompt_done(first, "restart-1")
    await keys(first, "restart-1", "1")  # now in the consultation submenu
    del fake.channels["restart-2"]
    await first.close()
    second = await make_stasis(fake, sessionmaker, clock, tmp_path)  # nothing in memory
    await second.reconcile()
    await second.drain()
    assert set(second.flow.calls) == {"restart-1"}
    assert (await call_of(sessionmaker, "restart-2")).end_reason == "lost_track"
    assert said(second, fake)[-1] == ["consult_menu"]
    await keys(second, "restart-1", "0")
    assert said(second, fake)[-1] == ["transferring"]
    await second.close()


async def test_reconcile_adopts_a_channel_in_our_app_that_was_never_recorded(
        stasis, fake, sessionmaker):
    fake.channels["orphan-1"] = Channel.model_validate(ev.channel("orphan-1", state="Ring"))
    fake.channels["other-app"] = Channel.model_validate(
        ev.channel("other-app", app_data="someone-else"))
    await stasis.reconcile()
    await stasis.drain()
    assert ("answer", "orphan-1") in fake.commands
    assert ("answer", "other-app") not in fake.commands
    assert (await call_of(sessionmaker, "orphan-1")).state == "in_ivr"


async def test_many_calls_with_events_fired_at_once_each_keep_their_order(
        stasis, fake, sessionmaker):
    ids = [f"many-{i}-{uuid.uuid4().hex[:4]}" for i in range(25)]
    for cid in ids:
        await stasis.on_event(ev.parsed(arrive(fake, cid)))
    await stasis.drain()
    for cid in ids:  # all at once, interleaved across calls
        call = stasis.flow.calls[cid]
        await stasis.on_event(ev.parsed(ev.playback_finished(cid, f"{call.id}.ivr1")))
    for cid in ids:
        await stasis.on_event(ev.parsed(ev.dtmf(cid, "0")))
        await stasis.on_event(ev.parsed(ev.hangup_request(cid)))
        await stasis.on_event(ev.parsed(ev.stasis_end(cid)))
    await stasis.drain()
    for cid in ids:
        call = await call_of(sessionmaker, cid)
        assert [e.trigger for e in call.events] == [
            "arrived", "answered", "ivr_started", "channel_gone"], cid
        assert (call.end_reason, call.ivr_node) == ("abandoned_in_ivr", "agent")
