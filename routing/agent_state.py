"""The agent's state machine: pure data, no I/O.

`next_agent_state(state, event)` is the only place that decides what follows what; anything not in
the table is refused with `InvalidAgentTransition`. Every change of an agent's state, the
system's included, is an event the ACD (`routing.engine.Acd`) asks this table about; it stores
every `from -> event -> to` with its time (busy/idle and occupancy reports, R19), so the history
says what happened, not only where the agent went.

Events come from two sides:
- the agent's own requests: `log_in`, `go_ready`, `pause`, `log_out`;
- the system's: `offer`, `answer`, `miss`, `miss_tolerated`, `offer_cancelled`, `call_ended`,
  `wrap_up_done`, `call_gone`.

Rules:
- Only a ready agent is offered a call (R9: never two calls at once).
- A ringing agent who does not answer within the ring limit, is busy or rejects has missed the
  offer (R1). Which event that is, is `miss_event`'s decision (like mod_callcenter's
  max-no-answer): `miss` once the agent has missed `HOTLINE_MAX_NO_ANSWER` offers in a row,
  to paused with `PauseReason.missed_rings`; before that `miss_tolerated`, back to ready for the
  next call.
- A ringing offer the caller abandons, or that another agent took (`offer_cancelled`), returns the
  agent to ready: not the agent's doing.
- When a call ends the agent goes to wrap_up, and from there to ready when wrap-up time is over
  (`wrap_up_done`) or when the agent says so earlier (`go_ready`); lines and agents are not held
  longer than needed (R13). With zero wrap-up seconds the service fires `wrap_up_done` at once.
- An agent may pause or log out from ready, paused or wrap_up (pausing again changes the reason).
  While ringing or on a call the request is refused with `InvalidAgentTransition`; remembering it
  and applying it after the call (a "pending" pause) is out of scope here.
- `call_gone` is reconciliation after a reconnect or a restart (R21): an agent left ringing for a
  call Asterisk no longer has goes to ready (the offer went with it). An agent left on a call that
  is gone goes through wrap-up as after any call (`call_ended`); one on a call still live stays
  on it. Agents in other states keep them (the table refuses `call_gone` there).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class AgentState(StrEnum):
    logged_out = "logged_out"
    ready = "ready"          # waiting for a call
    ringing = "ringing"      # offered a call, the phone rings (R1)
    on_call = "on_call"
    wrap_up = "wrap_up"      # after-call work, configurable seconds (R13)
    paused = "paused"        # with a `PauseReason`


class AgentEvent(StrEnum):
    # the agent's own requests
    log_in = "log_in"
    go_ready = "go_ready"
    pause = "pause"
    log_out = "log_out"
    # the system's
    offer = "offer"                      # a call is offered: the agent's phone rings
    answer = "answer"
    # A missed offer (no answer within the ring limit, busy, rejected; R1), `miss_event` says which:
    miss = "miss"                        # the Nth in a row (max-no-answer): paused, missed_rings
    miss_tolerated = "miss_tolerated"    # fewer than N in a row: ready for the next call
    offer_cancelled = "offer_cancelled"  # the caller hung up, or another agent took the call
    call_ended = "call_ended"
    wrap_up_done = "wrap_up_done"
    call_gone = "call_gone"              # reconciliation: the call the agent was rung for is gone


class PauseReason(StrEnum):
    missed_rings = "missed_rings"        # set by the system after a missed offer (R1)
    break_ = "break"
    meal = "meal"
    training = "training"
    meeting = "meeting"
    after_call_work = "after_call_work"  # more time than the automatic wrap-up (R13)
    other = "other"


class InvalidAgentTransition(ValueError):
    def __init__(self, state: AgentState, event: AgentEvent) -> None:
        super().__init__(f"no agent transition from {state} on {event}")
        self.state, self.event = state, event


# States from which the agent may pause or log out: not while ringing or on a call.
_AT_WILL = (AgentState.ready, AgentState.paused, AgentState.wrap_up)


TRANSITIONS: MappingProxyType[tuple[AgentState, AgentEvent], AgentState] = MappingProxyType({
    (AgentState.logged_out, AgentEvent.log_in): AgentState.ready,
    (AgentState.paused, AgentEvent.go_ready): AgentState.ready,
    (AgentState.wrap_up, AgentEvent.go_ready): AgentState.ready,  # done early (R13)
    **{(s, AgentEvent.pause): AgentState.paused for s in _AT_WILL},
    **{(s, AgentEvent.log_out): AgentState.logged_out for s in _AT_WILL},
    (AgentState.ready, AgentEvent.offer): AgentState.ringing,
    (AgentState.ringing, AgentEvent.answer): AgentState.on_call,
    (AgentState.ringing, AgentEvent.miss): AgentState.paused,  # reason missed_rings (R1)
    (AgentState.ringing, AgentEvent.miss_tolerated): AgentState.ready,  # under max-no-answer
    (AgentState.ringing, AgentEvent.offer_cancelled): AgentState.ready,
    (AgentState.on_call, AgentEvent.call_ended): AgentState.wrap_up,
    (AgentState.wrap_up, AgentEvent.wrap_up_done): AgentState.ready,
    (AgentState.ringing, AgentEvent.call_gone): AgentState.ready,  # R21: after a reconnect
})
"""Every allowed `(state, event) -> next state`; everything else is refused."""


def next_agent_state(state: AgentState, event: AgentEvent) -> AgentState:
    """The state that follows `state` on `event`; raises `InvalidAgentTransition` if none does."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidAgentTransition(state, event) from None


def can(state: AgentState, event: AgentEvent) -> bool:
    """Whether `event` is allowed in `state`."""
    return (state, event) in TRANSITIONS


def miss_event(misses_in_a_row: int, max_no_answer: int = 1) -> AgentEvent:
    """What a missed offer is (R1, like mod_callcenter's max-no-answer): `miss` (paused, reason
    `missed_rings`) once the agent has missed `max_no_answer` offers in a row, otherwise
    `miss_tolerated` (ready for the next call). `misses_in_a_row` counts this miss too."""
    if misses_in_a_row < 1:
        raise ValueError(f"misses_in_a_row must be at least 1, got {misses_in_a_row}")
    if max_no_answer < 1:
        raise ValueError(f"max_no_answer must be at least 1, got {max_no_answer}")
    return AgentEvent.miss if misses_in_a_row >= max_no_answer else AgentEvent.miss_tolerated
