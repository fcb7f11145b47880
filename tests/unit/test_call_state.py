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


# -- the call-back's table and the parts' own machines (#14) ---------------------------------
from app.calls.state import (  # noqa: E402
    ConsultEvent, ConsultState, MessageEvent, MessageState, OfferEvent, OfferState, OutState,
    OutTrigger, next_consult_state, next_message_state, next_offer_state, next_out_state,
)


def test_a_call_back_rings_the_agent_then_dials_the_customer_then_surveys():  # R17
    state = OutState.ringing_agent
    for trigger in (OutTrigger.agent_answered, OutTrigger.customer_answered,
                    OutTrigger.survey_started, OutTrigger.survey_done, OutTrigger.channel_gone):
        state = next_out_state(state, trigger)
    assert state is OutState.ended


@pytest.mark.parametrize(("state", "trigger"), [
    (OutState.ringing_agent, OutTrigger.customer_answered),  # the agent first, always
    (OutState.dialing_customer, OutTrigger.survey_started),
    (OutState.closing, OutTrigger.failed),
    (OutState.ended, OutTrigger.channel_gone),
])
def test_a_call_back_refuses_what_its_table_does_not_have(state, trigger):
    with pytest.raises(InvalidTransition):
        next_out_state(state, trigger)


def test_an_offer_rings_then_is_answered_or_ends_but_never_both():  # R1
    assert next_offer_state(OfferState.dialling, OfferEvent.rings) is OfferState.ringing
    assert next_offer_state(OfferState.ringing, OfferEvent.answer) is OfferState.answered
    assert next_offer_state(OfferState.dialling, OfferEvent.answer) is OfferState.answered
    assert next_offer_state(OfferState.ringing, OfferEvent.end) is OfferState.ended
    for state, event in [(OfferState.answered, OfferEvent.end), (OfferState.ended, OfferEvent.answer),
                         (OfferState.ringing, OfferEvent.rings), (OfferState.ended, OfferEvent.end)]:
        with pytest.raises(InvalidTransition):
            next_offer_state(state, event)


def test_a_consultation_is_completed_only_once_the_colleague_talks():  # R12
    assert next_consult_state(ConsultState.ringing, ConsultEvent.answer) is ConsultState.talking
    assert next_consult_state(ConsultState.talking, ConsultEvent.complete) is ConsultState.completed
    assert next_consult_state(ConsultState.talking, ConsultEvent.cancel) is ConsultState.cancelled
    assert next_consult_state(ConsultState.ringing, ConsultEvent.cancel) is ConsultState.cancelled
    with pytest.raises(InvalidTransition):
        next_consult_state(ConsultState.ringing, ConsultEvent.complete)
    with pytest.raises(InvalidTransition):
        next_consult_state(ConsultState.completed, ConsultEvent.cancel)


def test_a_message_is_recorded_after_its_prompt_and_saved_or_empty():  # R8
    assert next_message_state(MessageState.none, MessageEvent.prompt) is MessageState.prompting
    assert next_message_state(MessageState.prompting, MessageEvent.record) is MessageState.recording
    assert next_message_state(MessageState.recording, MessageEvent.saved) is MessageState.saved
    assert next_message_state(MessageState.recording, MessageEvent.empty) is MessageState.empty
    assert next_message_state(MessageState.empty, MessageEvent.record) is MessageState.recording
    # the menu may take another message after one was kept (a new recording, never over it)
    assert next_message_state(MessageState.saved, MessageEvent.record) is MessageState.recording
    with pytest.raises(InvalidTransition):
        next_message_state(MessageState.prompting, MessageEvent.saved)
    with pytest.raises(InvalidTransition):
        next_message_state(MessageState.none, MessageEvent.saved)
