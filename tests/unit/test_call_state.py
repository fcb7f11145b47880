"""The call state machine: every allowed transition, refusals, and how a call's end is classified."""

from __future__ import annotations

import pytest

from app.calls.state import (
    CallState, EndReason, HangupBy, InvalidTransition, Trigger, can, ending, next_state,
)


def test_a_call_the_menu_hands_to_a_queue_runs_answer_ivr_closing_grace_hangup():
    state = CallState.ringing
    for trigger in (Trigger.answered, Trigger.ivr_started, Trigger.no_agent,
                    Trigger.prompt_finished, Trigger.grace_elapsed, Trigger.channel_gone):
        state = next_state(state, trigger)
    assert state is CallState.ended


def test_a_menu_that_says_goodbye_waits_for_the_caller_to_hang_up_first():
    assert next_state(CallState.in_ivr, Trigger.ivr_finished) is CallState.awaiting_hangup


@pytest.mark.parametrize("state", [s for s in CallState if s is not CallState.ended])
def test_a_live_call_can_always_end_or_be_lost(state):
    assert next_state(state, Trigger.channel_gone) is CallState.ended
    assert next_state(state, Trigger.lost_track) is CallState.ended


@pytest.mark.parametrize("trigger", list(Trigger))
def test_nothing_follows_the_end(trigger):
    with pytest.raises(InvalidTransition):
        next_state(CallState.ended, trigger)


@pytest.mark.parametrize(("state", "trigger"), [
    (CallState.ringing, Trigger.prompt_finished),
    (CallState.ringing, Trigger.grace_elapsed),
    (CallState.in_ivr, Trigger.answered),
    (CallState.in_ivr, Trigger.prompt_finished),
    (CallState.answered, Trigger.enqueued),
    (CallState.connected, Trigger.enqueued),
    (CallState.closing, Trigger.grace_elapsed),
    (CallState.failing, Trigger.failed),
    (CallState.hanging_up, Trigger.failed),
])
def test_out_of_order_triggers_are_refused(state, trigger):
    assert not can(state, trigger)
    with pytest.raises(InvalidTransition):
        next_state(state, trigger)


def test_a_failed_call_apologises_then_hangs_up():
    assert next_state(CallState.in_ivr, Trigger.failed) is CallState.failing
    assert next_state(CallState.failing, Trigger.prompt_finished) is CallState.hanging_up
    assert next_state(CallState.failing, Trigger.hang_up) is CallState.hanging_up


@pytest.mark.parametrize(("state", "failed", "expected"), [
    (CallState.ringing, False, (EndReason.caller_hangup, HangupBy.caller)),
    (CallState.answered, False, (EndReason.caller_hangup, HangupBy.caller)),
    (CallState.in_ivr, False, (EndReason.abandoned_in_ivr, HangupBy.caller)),
    (CallState.closing, False, (EndReason.completed, HangupBy.caller)),
    (CallState.awaiting_hangup, False, (EndReason.completed, HangupBy.caller)),  # R2: caller first
    (CallState.hanging_up, False, (EndReason.completed, HangupBy.system)),
    (CallState.hanging_up, True, (EndReason.failed, HangupBy.system)),
    (CallState.failing, True, (EndReason.failed, HangupBy.caller)),
])
def test_end_reason_and_who_hung_up(state, failed, expected):
    assert ending(state, failed_before=failed) == expected


@pytest.mark.parametrize("state", [CallState.in_ivr, CallState.awaiting_hangup])
def test_a_caller_who_left_a_message_ended_with_voicemail_not_abandoned(state):
    assert ending(state, failed_before=False, left_message=True)[0] is EndReason.voicemail


def test_a_call_that_waited_the_queues_maximum_ended_in_overflow():
    assert ending(CallState.awaiting_hangup, failed_before=False, overflowed=True) == (
        EndReason.overflow, HangupBy.caller)


def test_a_caller_sent_to_voicemail_by_a_queue_leaves_a_message_then_hears_thanks():
    for start in (CallState.in_ivr, CallState.in_queue):  # nobody there, or waited the maximum
        state = next_state(start, Trigger.to_voicemail)
        assert state is CallState.voicemail
        assert next_state(state, Trigger.message_done) is CallState.closing


def test_a_call_passed_on_to_the_overflow_queue_stays_in_queue():
    assert next_state(CallState.in_queue, Trigger.overflowed) is CallState.in_queue


@pytest.mark.parametrize(("state", "left_message", "expected"), [
    (CallState.awaiting_hangup, True, EndReason.overflow_voicemail),
    (CallState.voicemail, True, EndReason.overflow_voicemail),  # hung up while recording
    (CallState.voicemail, False, EndReason.overflow),           # hung up at the prompt
])
def test_a_voicemail_overflow_ends_as_such_when_a_message_was_left(state, left_message, expected):
    assert ending(state, failed_before=False, left_message=left_message,
                  overflowed=True)[0] is expected
