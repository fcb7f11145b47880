"""The calls' state machines: pure data, no I/O.

- `CallState`: an inbound call; `next_state(state, trigger)` decides what follows what.
- `OutState`: an outbound call-back (R17); `next_out_state`.
- The parts' own machines, each a `StrEnum` and a table: an offer to an agent's phone
  (`OfferState`, R1), a warm transfer's consultation (`ConsultState`, R12), a caller's message
  (`MessageState`, R8).

Each table is the only place that decides what follows what and refuses anything else
(`InvalidTransition`). The runtime (`app.calls.runtime.CallRuntime.fire`) fires a call's
triggers and persists every `from -> trigger -> to` as the call's timeline; the parts step
their own machines.
"""

from __future__ import annotations

from enum import StrEnum


class CallState(StrEnum):
    ringing = "ringing"            # in our Stasis app, not answered yet
    answered = "answered"          # answered by us (R1: at once)
    in_ivr = "in_ivr"              # the voice menu runs (its greeting names the organisation, R2)
    in_queue = "in_queue"          # waiting for an agent, or an agent's phone rings (R9, R1)
    connected = "connected"        # talking to an agent
    voicemail = "voicemail"        # no agent: the queue's overflow lets the caller leave a message (R8)
    survey = "survey"              # R17: the agent hung up; the caller rates the call (1-5)
    closing = "closing"            # the closing words play (no agent; thanks for calling, R2)
    awaiting_hangup = "awaiting_hangup"  # giving the caller the chance to hang up first (R2)
    failing = "failing"            # something broke: apology plays, then we hang up
    hanging_up = "hanging_up"      # we asked Asterisk to hang up
    ended = "ended"


class Trigger(StrEnum):
    arrived = "arrived"            # the call entered Stasis (the timeline's first row)
    answered = "answered"
    ivr_started = "ivr_started"
    enqueued = "enqueued"          # the IVR handed the call to a queue
    agent_connected = "agent_connected"
    transferred = "transferred"    # blind transfer: back to a queue or to another agent (R12)
    consult_started = "consult_started"      # warm transfer: the caller holds, the agent consults
    consult_answered = "consult_answered"
    consult_completed = "consult_completed"  # the caller is now with the consulted agent
    consult_cancelled = "consult_cancelled"  # back to the first agent
    no_agent = "no_agent"          # no queue, or waited too long: a call-back is promised
    overflowed = "overflowed"      # waited too long (or nobody there): on to the overflow queue
    to_voicemail = "to_voicemail"  # no agent: the queue's overflow is voicemail (R8)
    message_done = "message_done"  # the message is recorded (or the caller left none)
    ivr_finished = "ivr_finished"  # the IVR said goodbye (a hangup node)
    survey_started = "survey_started"  # R17: the agent left; the caller is asked to rate the call
    survey_done = "survey_done"    # a score (or none after a second wrong key or silence)
    prompt_finished = "prompt_finished"
    grace_elapsed = "grace_elapsed"
    failed = "failed"
    hang_up = "hang_up"            # we end the call without the apology (it could not play)
    channel_gone = "channel_gone"  # StasisEnd / ChannelDestroyed: the channel left us
    lost_track = "lost_track"      # gone while we were not connected (reconciliation)


class EndReason(StrEnum):
    completed = "completed"          # the call ran its course
    caller_hangup = "caller_hangup"  # the caller hung up before the menu started
    abandoned_in_ivr = "abandoned_in_ivr"  # the caller hung up in the menu (ivr_node says where)
    abandoned_in_queue = "abandoned_in_queue"  # the caller hung up waiting for an agent
    overflow = "overflow"            # no agent (none logged in, or waited the queue's maximum):
                                     # a call-back was promised
    overflow_voicemail = "overflow_voicemail"  # no agent: the caller left a message instead (R8)
    voicemail = "voicemail"          # the caller left a message (R8)
    failed = "failed"                # we could not serve the call (technical problem)
    lost_track = "lost_track"        # it ended while we were disconnected from Asterisk
    # R21: no service took the call; the dialplan's fallback served it (app/fallback.py)
    fallback_agent = "fallback_agent"          # an agent's phone answered
    fallback_message = "fallback_message"      # nobody answered: the caller left a message (R8)
    fallback_abandoned = "fallback_abandoned"  # the caller hung up before either


class HangupBy(StrEnum):
    caller = "caller"
    agent = "agent"
    system = "system"


class InvalidTransition(ValueError):
    def __init__(self, state: StrEnum, trigger: StrEnum) -> None:
        super().__init__(f"no transition from {state} on {trigger}")
        self.state, self.trigger = state, trigger


_LIVE = [s for s in CallState if s is not CallState.ended]
_TABLE: dict[tuple[CallState, Trigger], CallState] = {
    (CallState.ringing, Trigger.answered): CallState.answered,
    (CallState.answered, Trigger.ivr_started): CallState.in_ivr,
    (CallState.in_ivr, Trigger.enqueued): CallState.in_queue,
    (CallState.in_ivr, Trigger.no_agent): CallState.closing,
    (CallState.in_queue, Trigger.no_agent): CallState.closing,
    (CallState.in_queue, Trigger.agent_connected): CallState.connected,
    (CallState.in_queue, Trigger.overflowed): CallState.in_queue,
    (CallState.in_ivr, Trigger.to_voicemail): CallState.voicemail,
    (CallState.in_queue, Trigger.to_voicemail): CallState.voicemail,
    (CallState.voicemail, Trigger.message_done): CallState.closing,
    (CallState.connected, Trigger.transferred): CallState.in_queue,
    **{(CallState.connected, t): CallState.connected for t in (
        Trigger.consult_started, Trigger.consult_answered, Trigger.consult_completed,
        Trigger.consult_cancelled)},
    (CallState.in_ivr, Trigger.ivr_finished): CallState.awaiting_hangup,
    (CallState.connected, Trigger.survey_started): CallState.survey,
    (CallState.survey, Trigger.survey_done): CallState.closing,
    (CallState.closing, Trigger.prompt_finished): CallState.awaiting_hangup,
    (CallState.awaiting_hangup, Trigger.grace_elapsed): CallState.hanging_up,
    (CallState.failing, Trigger.prompt_finished): CallState.hanging_up,
    (CallState.failing, Trigger.hang_up): CallState.hanging_up,
    **{(s, Trigger.failed): CallState.failing
       for s in _LIVE if s not in (CallState.failing, CallState.hanging_up)},
    **{(s, Trigger.channel_gone): CallState.ended for s in _LIVE},
    **{(s, Trigger.lost_track): CallState.ended for s in _LIVE},
}


def next_state(state: CallState, trigger: Trigger) -> CallState:
    try:
        return _TABLE[(state, trigger)]
    except KeyError:
        raise InvalidTransition(state, trigger) from None


def can(state: CallState, trigger: Trigger) -> bool:
    return (state, trigger) in _TABLE


# States in which the call's business is done: a hang-up now completes it (R2: caller first).
_COURSE_RUN = {CallState.connected, CallState.survey, CallState.closing,
               CallState.awaiting_hangup, CallState.hanging_up}


def ending(state: CallState, *, failed_before: bool, left_message: bool = False,
           agent_hung_up: bool = False, overflowed: bool = False) -> tuple[EndReason, HangupBy]:
    """Why a call that leaves Stasis in `state` ended and who hung up (R2: worth recording)."""
    hangup_by = (HangupBy.agent if agent_hung_up else
                 HangupBy.system if state is CallState.hanging_up else HangupBy.caller)
    if failed_before:
        return EndReason.failed, hangup_by
    if left_message and overflowed:
        return EndReason.overflow_voicemail, hangup_by
    if left_message:
        return EndReason.voicemail, hangup_by
    if overflowed:
        return EndReason.overflow, hangup_by
    if state in _COURSE_RUN:
        return EndReason.completed, hangup_by
    if state is CallState.in_ivr:
        return EndReason.abandoned_in_ivr, hangup_by
    if state is CallState.in_queue:
        return EndReason.abandoned_in_queue, hangup_by
    return EndReason.caller_hangup, hangup_by


# -- outbound call-backs (R17): the second kind of call on the same runtime --------------------
class OutState(StrEnum):
    ringing_agent = "ringing_agent"        # the agent's phone rings (R1)
    dialing_customer = "dialing_customer"  # the agent answered and hears music; the customer rings
    connected = "connected"
    survey = "survey"                      # R17: the customer rates the call-back
    closing = "closing"                    # over: the legs are being hung up
    ended = "ended"


class OutTrigger(StrEnum):
    dialing = "dialing"                    # the timeline's first row: the agent is rung
    agent_answered = "agent_answered"
    agent_missed = "agent_missed"          # no answer in the ring limit, busy, rejected
    customer_answered = "customer_answered"
    not_reached = "not_reached"            # no answer, busy, failed
    agent_left = "agent_left"
    customer_left = "customer_left"
    survey_started = "survey_started"
    survey_done = "survey_done"
    failed = "failed"
    channel_gone = "channel_gone"          # both legs are gone
    lost_track = "lost_track"


_OUT_LIVE = [s for s in OutState if s is not OutState.ended]
_OUT_TABLE: dict[tuple[OutState, OutTrigger], OutState] = {
    (OutState.ringing_agent, OutTrigger.agent_answered): OutState.dialing_customer,
    (OutState.ringing_agent, OutTrigger.agent_missed): OutState.closing,
    (OutState.dialing_customer, OutTrigger.customer_answered): OutState.connected,
    (OutState.dialing_customer, OutTrigger.not_reached): OutState.closing,
    (OutState.dialing_customer, OutTrigger.agent_left): OutState.closing,
    (OutState.connected, OutTrigger.survey_started): OutState.survey,
    (OutState.connected, OutTrigger.agent_left): OutState.closing,
    (OutState.connected, OutTrigger.customer_left): OutState.closing,
    (OutState.survey, OutTrigger.survey_done): OutState.closing,
    (OutState.survey, OutTrigger.customer_left): OutState.closing,
    **{(s, OutTrigger.failed): OutState.closing for s in _OUT_LIVE if s is not OutState.closing},
    **{(s, OutTrigger.channel_gone): OutState.ended for s in _OUT_LIVE},
    **{(s, OutTrigger.lost_track): OutState.ended for s in _OUT_LIVE},
}


def next_out_state(state: OutState, trigger: OutTrigger) -> OutState:
    try:
        return _OUT_TABLE[(state, trigger)]
    except KeyError:
        raise InvalidTransition(state, trigger) from None


# -- the parts' own small machines, where booleans used to hide them (#14) -------------------
def _step(table: dict, state: StrEnum, event: StrEnum) -> StrEnum:
    try:
        return table[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event) from None


class OfferState(StrEnum):
    """An agent's phone offered a call (a queue offer, a named agent, a consultation; R1)."""

    dialling = "dialling"    # originated; the phone has not said it rings yet
    ringing = "ringing"      # R1 counts rings from here
    answered = "answered"
    ended = "ended"          # not answered: no answer in the ring limit, busy, rejected, cancelled


class OfferEvent(StrEnum):
    rings = "rings"
    answer = "answer"
    end = "end"


_OFFER_TABLE = {
    (OfferState.dialling, OfferEvent.rings): OfferState.ringing,
    (OfferState.dialling, OfferEvent.answer): OfferState.answered,  # answered before a 180
    (OfferState.ringing, OfferEvent.answer): OfferState.answered,
    (OfferState.dialling, OfferEvent.end): OfferState.ended,
    (OfferState.ringing, OfferEvent.end): OfferState.ended,
}


def next_offer_state(state: OfferState, event: OfferEvent) -> OfferState:
    return _step(_OFFER_TABLE, state, event)


class ConsultState(StrEnum):
    """A warm transfer (R12): the caller holds while the agent briefs a colleague."""

    ringing = "ringing"      # the colleague's phone rings (R1 applies to them too)
    talking = "talking"      # the two agents talk; the caller holds with music
    completed = "completed"  # the caller went to the colleague
    cancelled = "cancelled"  # back to the first agent (cancelled, missed, the colleague left)


class ConsultEvent(StrEnum):
    answer = "answer"
    complete = "complete"
    cancel = "cancel"


_CONSULT_TABLE = {
    (ConsultState.ringing, ConsultEvent.answer): ConsultState.talking,
    (ConsultState.ringing, ConsultEvent.cancel): ConsultState.cancelled,
    (ConsultState.talking, ConsultEvent.complete): ConsultState.completed,
    (ConsultState.talking, ConsultEvent.cancel): ConsultState.cancelled,
}


def next_consult_state(state: ConsultState, event: ConsultEvent) -> ConsultState:
    return _step(_CONSULT_TABLE, state, event)


class MessageState(StrEnum):
    """A caller's message (R8), in the menu's voicemail node or a queue's voicemail overflow."""

    none = "none"            # no message under way
    prompting = "prompting"  # the overflow's prompt plays; the beep and recording follow
    recording = "recording"  # Asterisk records the caller
    saved = "saved"          # kept in our storage with a call-back task
    empty = "empty"          # the recording ended with nothing said


class MessageEvent(StrEnum):
    prompt = "prompt"
    record = "record"
    saved = "saved"
    empty = "empty"


_MESSAGE_TABLE = {
    (MessageState.none, MessageEvent.prompt): MessageState.prompting,
    (MessageState.none, MessageEvent.record): MessageState.recording,
    (MessageState.empty, MessageEvent.record): MessageState.recording,  # a menu's retry
    (MessageState.saved, MessageEvent.record): MessageState.recording,  # the menu's next message
    (MessageState.prompting, MessageEvent.record): MessageState.recording,
    (MessageState.recording, MessageEvent.saved): MessageState.saved,
    (MessageState.recording, MessageEvent.empty): MessageState.empty,
}


def next_message_state(state: MessageState, event: MessageEvent) -> MessageState:
    return _step(_MESSAGE_TABLE, state, event)
