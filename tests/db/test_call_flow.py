"""The call flow against real Postgres and a recording fake of the telephony port."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from app.ari.models import Channel
from app.calls import service
from app.calls.models import Call
from app.calls.stasis import CallStasis
from tests.support import events as ev
from tests.support.clock import FakeClock
from tests.support.fake_telephony import FakeTelephony
from tests.support.settings import make_settings


@pytest.fixture
def fake() -> FakeTelephony:
    return FakeTelephony()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sessionmaker(committing_sessionmaker):
    return committing_sessionmaker


@pytest.fixture
def stasis(fake, sessionmaker, clock):
    return CallStasis(settings=make_settings(), telephony=fake, sessionmaker=sessionmaker,
                      clock=clock)


async def feed(stasis: CallStasis, *raw_events: dict) -> None:
    for raw in raw_events:
        await stasis.on_event(ev.parsed(raw))
    await stasis.dispatcher.drain()


async def settle(stasis: CallStasis) -> None:
    """Let short timers (the closing grace) fire, then finish what they queued."""
    await asyncio.sleep(0.05)
    await stasis.dispatcher.drain()


async def call_of(sessionmaker, channel_id: str) -> Call:
    async with sessionmaker() as session:
        row = await session.scalar(select(Call).where(Call.channel_id == channel_id))
        return await service.get(session=session, call_id=row.id)


def timeline(call: Call) -> list[tuple[str, str]]:
    return [(e.trigger, e.to_state) for e in call.events]


def arrive(fake: FakeTelephony, channel_id: str, **kw) -> dict:
    fake.channels[channel_id] = Channel.model_validate(ev.channel(channel_id, state="Up"))
    return ev.stasis_start(channel_id, **kw)


async def test_call_is_answered_at_once_greeted_thanked_and_hung_up(stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c1", number="13900001111"))
    call = await call_of(sessionmaker, "c1")
    assert fake.names()[:2] == ["answer", "play"]  # R1: answered before anything else
    assert fake.commands[1][2] == ("sound:/srv/hotline/prompts/zh/greeting",)  # R2, Mandarin
    await feed(stasis, ev.playback_finished("c1", f"{call.id}.greeting"))
    assert fake.commands[-1][2] == ("sound:/srv/hotline/prompts/zh/thanks",)
    await feed(stasis, ev.playback_finished("c1", f"{call.id}.thanks"))
    await settle(stasis)
    assert fake.names()[-1] == "hangup"
    await feed(stasis, ev.hangup_request("c1", cause=16), ev.stasis_end("c1"))
    call = await call_of(sessionmaker, "c1")
    assert timeline(call) == [
        ("arrived", "ringing"), ("answered", "answered"), ("greeting_started", "greeting"),
        ("prompt_finished", "closing"), ("prompt_finished", "awaiting_hangup"),
        ("grace_elapsed", "hanging_up"), ("channel_gone", "ended")]
    assert (call.end_reason, call.hangup_by, call.caller_number) == (
        "completed", "system", "13900001111")
    assert call.answered_at is not None and call.ended_at is not None
    assert "c1" not in stasis.flow.calls


async def test_caller_who_hangs_up_during_the_greeting_is_logged_as_caller_hangup(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c2"), ev.hangup_request("c2"), ev.stasis_end("c2"))
    call = await call_of(sessionmaker, "c2")
    assert (call.end_reason, call.hangup_by, call.hangup_cause) == ("caller_hangup", "caller", 16)
    assert "hangup" not in fake.names()


async def test_caller_who_hangs_up_after_the_thanks_completed_the_call_and_hung_up_first(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c3"))
    call = await call_of(sessionmaker, "c3")
    await feed(stasis, ev.playback_finished("c3", f"{call.id}.greeting"),
               ev.playback_finished("c3", f"{call.id}.thanks"), ev.stasis_end("c3"))
    await settle(stasis)  # the grace timer must not fire on an ended call
    call = await call_of(sessionmaker, "c3")
    assert (call.end_reason, call.hangup_by) == ("completed", "caller")  # R2
    assert "hangup" not in fake.names()


async def test_a_stale_or_foreign_playback_does_not_move_the_call(stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c4"), ev.playback_finished("c4", "someone-else.greeting"))
    call = await call_of(sessionmaker, "c4")
    assert call.state == "greeting"


async def test_a_duplicate_stasis_start_opens_no_second_call(stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "c5"), ev.stasis_start("c5"))
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Call).where(Call.channel_id == "c5"))).all()
    assert len(rows) == 1
    assert fake.names().count("answer") == 1


async def test_when_the_greeting_cannot_play_the_caller_hears_an_apology_and_a_clean_hangup(
        stasis, fake, sessionmaker):
    fake.fail_on = {"play"}
    await feed(stasis, arrive(fake, "c6"))
    assert fake.names() == ["answer", "play", "play", "hangup"]  # greeting, apology, hang up
    await feed(stasis, ev.stasis_end("c6"))
    call = await call_of(sessionmaker, "c6")
    assert [t for t, _ in timeline(call)][-3:] == ["failed", "hang_up", "channel_gone"]
    assert (call.end_reason, call.hangup_by) == ("failed", "system")


async def test_when_the_greeting_fails_the_apology_plays_before_the_hangup(
        stasis, fake, sessionmaker):
    fake.fail_on = {"play"}
    original = fake.play
    attempts = 0

    async def play_second_time(channel_id, media, *, playback_id, lang=None):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            fake.fail_on = {"play"}
        else:
            fake.fail_on = set()
        return await original(channel_id, media, playback_id=playback_id, lang=lang)

    fake.play = play_second_time
    await feed(stasis, arrive(fake, "c7"))
    call = await call_of(sessionmaker, "c7")
    assert call.state == "failing"
    assert fake.commands[-1][2] == ("sound:/srv/hotline/prompts/zh/technical_problem",)
    await feed(stasis, ev.playback_finished("c7", f"{call.id}.technical_problem"))
    assert fake.names()[-1] == "hangup"


async def test_reconcile_closes_calls_that_ended_unseen_at_the_time_last_seen(
        stasis, fake, sessionmaker, clock):
    await feed(stasis, arrive(fake, "gone-1"))
    clock.advance(30)
    await stasis.on_disconnect()
    last_seen = clock.now()
    del fake.channels["gone-1"]  # the caller hung up while we were disconnected
    clock.advance(60)
    await stasis.reconcile()
    await stasis.dispatcher.drain()
    call = await call_of(sessionmaker, "gone-1")
    assert call.end_reason == "lost_track" and call.hangup_by is None
    assert call.ended_at == last_seen
    assert timeline(call)[-1] == ("lost_track", "ended")


async def test_reconcile_carries_on_a_live_call_whose_greeting_ended_while_we_were_away(
        stasis, fake, sessionmaker):
    await feed(stasis, arrive(fake, "live-1"))
    call = await call_of(sessionmaker, "live-1")
    await stasis.on_disconnect()
    fake.playbacks.pop(f"{call.id}.greeting")  # PlaybackFinished was missed
    await stasis.reconcile()
    await stasis.dispatcher.drain()
    assert ("subscribe", "channel:live-1") in fake.commands
    assert fake.commands[-1][2] == ("sound:/srv/hotline/prompts/zh/thanks",)
    assert (await call_of(sessionmaker, "live-1")).state == "closing"


async def test_after_a_service_restart_open_calls_are_taken_over_from_the_database(
        fake, sessionmaker, clock):
    first = CallStasis(settings=make_settings(), telephony=fake, sessionmaker=sessionmaker,
                       clock=clock)
    await feed(first, arrive(fake, "restart-1"), arrive(fake, "restart-2"))
    del fake.channels["restart-2"]
    await first.close()
    second = CallStasis(settings=make_settings(), telephony=fake, sessionmaker=sessionmaker,
                        clock=clock)  # a new process: nothing in memory
    await second.reconcile()
    await second.dispatcher.drain()
    assert set(second.flow.calls) == {"restart-1"}
    assert (await call_of(sessionmaker, "restart-2")).end_reason == "lost_track"
    call = await call_of(sessionmaker, "restart-1")
    await feed(second, ev.playback_finished("restart-1", f"{call.id}.greeting"))
    assert (await call_of(sessionmaker, "restart-1")).state == "closing"


async def test_reconcile_adopts_a_channel_in_our_app_that_was_never_recorded(
        stasis, fake, sessionmaker):
    fake.channels["orphan-1"] = Channel.model_validate(ev.channel("orphan-1", state="Ring"))
    fake.channels["other-app"] = Channel.model_validate(
        ev.channel("other-app", app_data="someone-else"))
    await stasis.reconcile()
    await stasis.dispatcher.drain()
    assert ("answer", "orphan-1") in fake.commands
    assert ("answer", "other-app") not in fake.commands
    assert (await call_of(sessionmaker, "orphan-1")).state == "greeting"


async def test_many_calls_with_events_fired_at_once_each_keep_their_order(
        stasis, fake, sessionmaker):
    ids = [f"many-{i}-{uuid.uuid4().hex[:4]}" for i in range(25)]
    for cid in ids:
        await stasis.on_event(ev.parsed(arrive(fake, cid)))
    await stasis.dispatcher.drain()
    calls = {cid: await call_of(sessionmaker, cid) for cid in ids}
    for cid in ids:  # all at once, interleaved across calls
        await stasis.on_event(ev.parsed(ev.playback_finished(cid, f"{calls[cid].id}.greeting")))
    for cid in ids:
        await stasis.on_event(ev.parsed(ev.playback_finished(cid, f"{calls[cid].id}.thanks")))
        await stasis.on_event(ev.parsed(ev.stasis_end(cid)))
    await stasis.dispatcher.drain()
    for cid in ids:
        call = await call_of(sessionmaker, cid)
        assert [t for t, _ in timeline(call)] == [
            "arrived", "answered", "greeting_started", "prompt_finished", "prompt_finished",
            "channel_gone"], cid
        assert call.end_reason == "completed"
