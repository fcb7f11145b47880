"""The call runtime every live call runs on (#14): the choke point, timers, media, the holding
bridge and hang-ups, against the recording fake of the telephony port and a call log that keeps
what it is handed (no Postgres)."""

from __future__ import annotations

import asyncio
import uuid
import pytest

from app.ari.models import Channel
from app.calls.items import Announce, LiveCall
from app.calls.outbound import LiveCallback
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, InvalidTransition, OutState, OutTrigger, Trigger
from tests.support.clock import FakeClock
from tests.support.fake_telephony import FakeTelephony
from tests.support.settings import make_settings


class KeptLog:
    """The call log's side the runtime uses, keeping what it is handed in order."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, dict]] = []

    def transition(self, **fields) -> None:
        self.writes.append(("transition", fields))

    def update(self, call_id, **values) -> None:
        self.writes.append(("update", {"call_id": call_id, **values}))


@pytest.fixture
def parts():
    clock, fake, log, submitted = FakeClock(), FakeTelephony(), KeptLog(), []
    runtime = CallRuntime(settings=make_settings(prompt_dir="/p"), telephony=fake, clock=clock,
                          call_log=log, submit=lambda key, item: submitted.append((key, item)))
    return runtime, fake, log, submitted, clock


def inbound(clock, **kw) -> LiveCall:
    values = dict(id=uuid.uuid4(), channel_id="c1", state=CallState.in_ivr, language="en", seq=3,
                  last_seen_at=clock.now()) | kw
    return LiveCall(**values)


def test_fire_checks_the_calls_own_table_logs_and_hands_the_row_to_the_call_log(parts):
    runtime, _, log, _, clock = parts
    call = inbound(clock)
    runtime.fire(call, Trigger.enqueued, detail={"queue": "general"}, queue="general")
    assert (call.state, call.seq) == (CallState.in_queue, 4)
    [(kind, row)] = log.writes
    assert kind == "transition"
    assert (row["seq"], row["from_state"], row["trigger"], row["to_state"]) == (
        4, CallState.in_ivr, Trigger.enqueued, CallState.in_queue)
    assert row["updates"] == {"queue": "general"} and row["detail"] == {"queue": "general"}


def test_fire_refuses_a_transition_the_table_lacks_and_changes_nothing(parts):
    runtime, _, log, _, clock = parts
    call = inbound(clock)
    with pytest.raises(InvalidTransition):
        runtime.fire(call, Trigger.answered)
    assert (call.state, call.seq, log.writes) == (CallState.in_ivr, 3, [])


def test_a_call_back_fires_through_the_same_choke_point_with_its_own_table(parts):
    runtime, _, log, _, clock = parts
    live = LiveCallback(key="callback-1", attempt_id=uuid.uuid4(), task_id=uuid.uuid4(),
                        call_id=uuid.uuid4(), agent_id=uuid.uuid4(), user_id=None,
                        complaint_id=None, number="13800000001", dial="13800000001",
                        language="zh", endpoint="PJSIP/x", last_seen_at=clock.now())
    runtime.fire(live, OutTrigger.agent_answered)
    assert live.state is OutState.dialing_customer
    assert log.writes[0][1]["call_id"] == live.call_id
    with pytest.raises(InvalidTransition):
        runtime.fire(live, Trigger.enqueued)  # an inbound trigger is not in the call-back's table


def test_a_call_whose_row_could_not_be_written_changes_state_without_writing(parts):
    runtime, _, log, _, clock = parts
    call = inbound(clock, persisted=False)
    runtime.fire(call, Trigger.failed)
    runtime.update(call, language="zh")
    assert call.state is CallState.failing and log.writes == []


async def test_a_timer_fires_into_the_calls_queue_and_the_next_of_its_name_replaces_it(parts):
    runtime, _, _, submitted, clock = parts
    call = inbound(clock)
    runtime.schedule(call, "announce", 60, Announce("c1"))
    first = call.timers["announce"]
    runtime.schedule(call, "announce", 0, Announce("c1"))
    await asyncio.sleep(0.01)
    assert first.cancelled() and submitted == [("c1", Announce("c1"))]
    runtime.schedule(call, "max_wait", 60, Announce("c1"))
    runtime.cancel_all(call)
    assert call.timers == {}


async def test_system_prompts_play_in_the_calls_language_else_the_default(parts):
    runtime, fake, _, _, clock = parts
    call = inbound(clock, state=CallState.closing)
    await runtime.say(call, ("queue_unavailable", "thanks"))
    call.language = "fr"  # no system prompts in French: the service's default language
    await runtime.play(call, "c1", ("thanks",), playback_id="x")
    default = runtime.settings.default_language
    assert fake.commands == [
        ("play", "c1", ("sound:/p/en/queue_unavailable", "sound:/p/en/thanks"),
         f"{call.id}.closing"),
        ("play", "c1", (f"sound:/p/{default}/thanks",), "x")]


async def test_hold_and_unhold_use_the_calls_holding_bridge(parts):
    runtime, fake, _, _, clock = parts
    call = inbound(clock)
    await runtime.hold(call, "c1", "default")
    fake.fail_on.add("remove_from_bridge")  # the caller left the bridge by hanging up
    await runtime.unhold(call, "c1")
    bridge = f"hold-{call.id}"
    assert [c[:2] for c in fake.commands] == [
        ("create_bridge", bridge), ("add_to_bridge", bridge), ("start_bridge_moh", bridge),
        ("remove_from_bridge", bridge), ("destroy_bridge", bridge)]


async def test_hanging_up_a_channel_already_gone_says_so(parts):
    runtime, fake, _, _, clock = parts
    fake.channels["here"] = Channel(id="here", state="Up")
    assert await runtime.hang_up("here") is True
    assert await runtime.hang_up("gone") is False


async def test_a_dropped_leg_no_longer_routes_to_its_call(parts):
    runtime, fake, _, _, clock = parts
    call = inbound(clock)
    runtime.attach_leg("agent-1", call)
    assert runtime.legs == {"agent-1": "c1"}
    await runtime.drop_leg("agent-1")
    assert runtime.legs == {} and ("hangup", "agent-1") in fake.commands


async def test_background_work_is_awaited_briefly_on_close(parts):
    runtime, *_ = parts
    done = []

    async def work():
        await asyncio.sleep(0.01)
        done.append(True)

    runtime.background(work(), name="w")
    await runtime.close(grace_seconds=1)
    assert done == [True]
