"""Where a call goes when its queue cannot serve it (R8, R9), and what a queue's overflow takes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from routing.overflow import CallBack, Join, Routed, ToVoicemail, Why, route
from routing.schemas import Overflow, QueueIn

QUEUES = {
    "general": {"kind": "queue", "target": "backup"},
    "backup": {"kind": "voicemail", "max_seconds": 60, "prompt": ["overflow_voicemail"]},
    "night": {"kind": "voicemail"},
    "plain": None,
    "loop_a": {"kind": "queue", "target": "loop_b"},
    "loop_b": {"kind": "queue", "target": "loop_a"},
    "dangling": {"kind": "queue", "target": "gone"},
    "promise": {"kind": "callback"},
}


def staffed_only(*names: str):
    return lambda name: name in names


def test_a_staffed_queue_is_joined():
    assert route("general", overflows=QUEUES, staffed=staffed_only("general")) == Routed(
        Join("general"))


def test_a_queue_that_is_not_set_up_promises_a_call_back():
    assert route("nowhere", overflows=QUEUES, staffed=staffed_only()) == Routed(
        CallBack(), Why.no_queue)


def test_a_queue_nobody_is_logged_in_to_passes_the_call_to_its_overflow_queue():
    assert route("general", overflows=QUEUES, staffed=staffed_only("backup")) == Routed(
        Join("backup"), Why.nobody_logged_in, ("general",))


def test_overflow_queues_nobody_serves_are_followed_to_their_voicemail():
    routed = route("general", overflows=QUEUES, staffed=staffed_only())
    assert routed == Routed(ToVoicemail(max_seconds=60, prompt=("overflow_voicemail",)),
                            Why.nobody_logged_in, ("general", "backup"))
    assert routed.overflowed


def test_after_the_maximum_wait_the_call_leaves_even_a_staffed_queue():
    assert route("general", overflows=QUEUES, staffed=staffed_only("general", "backup"),
                 waited=True) == Routed(Join("backup"), Why.max_wait, ("general",))
    assert route("night", overflows=QUEUES, staffed=staffed_only("night"), waited=True) == Routed(
        ToVoicemail(), Why.max_wait, ("night",))


@pytest.mark.parametrize("queue", ["plain", "promise", "loop_a", "dangling"])
def test_no_overflow_a_cycle_or_a_missing_target_end_in_a_call_back(queue):
    routed = route(queue, overflows=QUEUES, staffed=staffed_only(), waited=True)
    assert isinstance(routed.decision, CallBack) and routed.why is Why.max_wait


def test_voicemail_defaults_to_the_system_prompt_and_two_minutes():
    assert ToVoicemail() == ToVoicemail(max_seconds=120, prompt=("overflow_voicemail",))


# -- the overflow a queue takes (routing.schemas) ---------------------------------------------

def test_a_voicemail_overflow_takes_max_seconds_and_system_prompts():
    overflow = Overflow.model_validate({"kind": "voicemail", "max_seconds": 30,
                                        "prompt": "overflow_voicemail"})
    assert (overflow.max_seconds, overflow.prompt) == (30, ["overflow_voicemail"])
    assert Overflow.model_validate({"kind": "voicemail"}).prompt is None


@pytest.mark.parametrize("body", [
    {"kind": "voicemail", "max_seconds": 3},                    # too short
    {"kind": "voicemail", "max_seconds": 601},                  # too long
    {"kind": "voicemail", "max_seconds": "30"},                 # not a number
    {"kind": "voicemail", "prompt": "no_such_prompt"},          # not in prompts/system.yaml
    {"kind": "voicemail", "prompt": []},
    {"kind": "voicemail", "target": "general"},                 # a target is for a queue
    {"kind": "callback", "max_seconds": 30},                    # voicemail's fields only there
    {"kind": "queue", "target": "backup", "prompt": "thanks"},
    {"kind": "queue"},                                          # a queue needs its target
    {"kind": "voicemail", "greeting": "x"},                     # unknown field
])
def test_an_overflow_with_fields_of_another_kind_or_bad_values_is_refused(body):
    with pytest.raises(ValidationError):
        Overflow.model_validate(body)


def test_a_queue_may_overflow_to_voicemail():
    queue = QueueIn.model_validate({"name": "general", "call_type": "consultation",
                                    "overflow": {"kind": "voicemail", "max_seconds": 45}})
    assert queue.overflow is not None and queue.overflow.kind == "voicemail"
