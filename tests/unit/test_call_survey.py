"""The survey part (R17), one for inbound calls and call-backs: asked on the customer's channel,
a key is the score, a wrong key or silence asks again once, then the owner is told (#14). The
recording fake of the telephony port; no Postgres."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.calls.items import LiveCall, SurveyTimer
from app.calls.outbound import LiveCallback
from app.calls.runtime import CallRuntime
from app.calls.state import CallState
from app.calls.survey import Survey
from tests.support.clock import FakeClock
from tests.support.fake_telephony import FakeTelephony
from tests.support.settings import make_settings
from tests.unit.test_call_runtime import KeptLog


@pytest.fixture
def kit():
    fake, submitted, finished = FakeTelephony(), [], []
    runtime = CallRuntime(settings=make_settings(prompt_dir="/p", survey_timeout_seconds=0.001),
                          telephony=fake, clock=FakeClock(), call_log=KeptLog(),
                          submit=lambda key, item: submitted.append((key, item)))

    async def done(call, score, prompts):
        finished.append((call, score, prompts))

    return Survey(runtime, finished=done), fake, submitted, finished


def inbound() -> LiveCall:
    return LiveCall(id=uuid.uuid4(), channel_id="caller", state=CallState.survey, language="zh",
                    seq=0, last_seen_at=FakeClock().now())


def callback() -> LiveCallback:
    return LiveCallback(key="callback-1", attempt_id=uuid.uuid4(), task_id=uuid.uuid4(),
                        call_id=uuid.uuid4(), agent_id=uuid.uuid4(), user_id=None,
                        complaint_id=uuid.uuid4(), number="1", dial="1", language="en",
                        endpoint="", last_seen_at=FakeClock().now())


async def test_a_key_after_the_question_is_the_score(kit):
    survey, fake, _, finished = kit
    call = inbound()
    await survey.start(call)
    assert fake.commands[-1][1] == "caller" and fake.commands[-1][3] == f"{call.id}.survey1"
    await survey.key(call, "4")
    assert finished[-1][:2] == (call, 4)


async def test_a_call_back_is_asked_on_the_customers_leg_and_its_silence_times_out(kit):
    survey, fake, submitted, finished = kit
    live = callback()
    await survey.start(live)
    assert fake.commands[-1][1] == live.customer_leg
    assert survey.asked(live, f"{live.id}.survey1")  # the question played: the wait starts
    await asyncio.sleep(0.01)
    assert submitted == [("callback-1", SurveyTimer("callback-1", 1))]
    await survey.silence(live, 1)  # asked again once
    assert fake.commands[-1][3] == f"{live.id}.survey2"
    await survey.silence(live, 1)  # a stale timer: nothing
    assert finished == []
    await survey.silence(live, 2)
    assert finished[-1][:2] == (live, None)


async def test_a_wrong_key_asks_again_and_a_second_ends_without_a_score(kit):
    survey, _, _, finished = kit
    call = inbound()
    await survey.start(call)
    await survey.key(call, "9")
    assert finished == [] and call.survey.token == 2
    await survey.key(call, "#")
    assert finished[-1][:2] == (call, None)


async def test_a_stale_question_ending_is_the_surveys_and_changes_nothing(kit):
    survey, _, submitted, _ = kit
    call = inbound()
    await survey.start(call)
    await survey.key(call, "7")  # a wrong key: question 2 plays now
    assert survey.asked(call, f"{call.id}.survey1") is True  # the first one, cut: ignored
    assert survey.asked(call, f"{call.id}.ivr3") is False    # not the survey's
    await asyncio.sleep(0.01)
    assert submitted == []
