"""The agent state machine: every allowed transition, a table of refused ones, the miss rule."""

from __future__ import annotations

import itertools

import pytest

from routing.agent_state import (
    TRANSITIONS, AgentEvent, AgentState, InvalidAgentTransition, PauseReason, can, miss_event,
    next_agent_state,
)

S, E = AgentState, AgentEvent

ALLOWED = {
    (S.logged_out, E.log_in): S.ready,
    (S.ready, E.offer): S.ringing,
    (S.ready, E.pause): S.paused,
    (S.ready, E.log_out): S.logged_out,
    (S.ringing, E.answer): S.on_call,
    (S.ringing, E.miss): S.paused,
    (S.ringing, E.miss_tolerated): S.ready,
    (S.ringing, E.offer_cancelled): S.ready,
    (S.ringing, E.call_gone): S.ready,
    (S.on_call, E.call_ended): S.wrap_up,
    (S.wrap_up, E.wrap_up_done): S.ready,
    (S.wrap_up, E.go_ready): S.ready,
    (S.wrap_up, E.pause): S.paused,
    (S.wrap_up, E.log_out): S.logged_out,
    (S.paused, E.go_ready): S.ready,
    (S.paused, E.pause): S.paused,
    (S.paused, E.log_out): S.logged_out,
}


@pytest.mark.parametrize(("state", "event", "expected"),
                         [(s, e, to) for (s, e), to in ALLOWED.items()])
def test_each_allowed_transition_leads_to_its_state(state, event, expected):
    assert can(state, event)
    assert next_agent_state(state, event) is expected


def test_the_table_allows_exactly_the_documented_transitions():
    assert dict(TRANSITIONS) == ALLOWED


@pytest.mark.parametrize(("state", "event"), [
    pair for pair in itertools.product(AgentState, AgentEvent) if pair not in ALLOWED])
def test_every_other_pair_is_refused(state, event):
    assert not can(state, event)
    with pytest.raises(InvalidAgentTransition) as raised:
        next_agent_state(state, event)
    assert (raised.value.state, raised.value.event) == (state, event)


@pytest.mark.parametrize(("state", "event", "why"), [
    (S.ringing, E.pause, "no pausing while the phone rings"),
    (S.ringing, E.log_out, "no logging out while the phone rings"),
    (S.on_call, E.pause, "no pausing on a call"),
    (S.on_call, E.log_out, "no logging out on a call"),
    (S.on_call, E.offer, "never two calls at once (R9)"),
    (S.ringing, E.offer, "never two offers at once (R9)"),
    (S.paused, E.offer, "a paused agent is not offered calls"),
    (S.wrap_up, E.offer, "an agent in wrap-up is not offered calls (R13)"),
    (S.logged_out, E.offer, "a logged-out agent is not offered calls"),
    (S.logged_out, E.go_ready, "logging in is its own request"),
    (S.logged_out, E.pause, "a logged-out agent cannot pause"),
    (S.ready, E.log_in, "already logged in"),
    (S.ready, E.go_ready, "already ready"),
    (S.ready, E.answer, "nothing rang"),
    (S.on_call, E.answer, "already answered"),
    (S.on_call, E.miss, "a connected call cannot be missed"),
    (S.wrap_up, E.call_ended, "the call already ended"),
    (S.ready, E.wrap_up_done, "no wrap-up in progress"),
    (S.on_call, E.miss_tolerated, "a connected call cannot be missed"),
    (S.ready, E.miss_tolerated, "nothing rang"),
    (S.paused, E.miss, "nothing rang"),
    (S.ready, E.call_gone, "nothing held the agent: a ready agent stays ready"),
    (S.paused, E.call_gone, "a paused agent stays paused after a restart"),
    (S.logged_out, E.call_gone, "a logged-out agent stays logged out after a restart"),
    (S.on_call, E.call_gone, "a call that is gone ends with wrap-up, as any call (R13)"),
    (S.wrap_up, E.call_gone, "wrap-up runs its course"),
])
def test_refused_transitions(state, event, why):
    with pytest.raises(InvalidAgentTransition):
        next_agent_state(state, event)


def test_an_agent_who_answers_goes_through_call_and_wrap_up_back_to_ready():
    state = S.logged_out
    for event in (E.log_in, E.offer, E.answer, E.call_ended, E.wrap_up_done):
        state = next_agent_state(state, event)
    assert state is S.ready


def test_an_agent_who_misses_the_ring_limit_is_paused_with_missed_rings():
    assert miss_event(1) is E.miss
    assert next_agent_state(S.ringing, E.miss) is S.paused
    assert PauseReason("missed_rings") is PauseReason.missed_rings


def test_a_miss_under_the_max_no_answer_is_tolerated_and_the_agent_stays_ready():
    assert miss_event(1, max_no_answer=2) is E.miss_tolerated
    assert next_agent_state(S.ringing, E.miss_tolerated) is S.ready


def test_after_a_reconnect_an_agent_rung_for_a_call_that_is_gone_is_ready():  # R21
    assert next_agent_state(S.ringing, E.call_gone) is S.ready


def test_an_offer_the_caller_abandons_returns_the_agent_to_ready():
    assert next_agent_state(S.ringing, E.offer_cancelled) is S.ready


@pytest.mark.parametrize(("misses", "max_no_answer", "expected"), [
    (1, 1, S.paused),
    (2, 1, S.paused),
    (1, 2, S.ready),
    (2, 2, S.paused),
    (2, 3, S.ready),
    (3, 3, S.paused),
    (4, 3, S.paused),
])
def test_after_n_misses_in_a_row_the_agent_is_paused_before_that_ready(misses, max_no_answer,
                                                                      expected):
    assert next_agent_state(S.ringing, miss_event(misses, max_no_answer)) is expected


@pytest.mark.parametrize(("misses", "max_no_answer"), [(0, 1), (-1, 1), (1, 0)])
def test_miss_event_refuses_nonsense_counts(misses, max_no_answer):
    with pytest.raises(ValueError):
        miss_event(misses, max_no_answer)


@pytest.mark.parametrize("value", [
    "missed_rings", "break", "meal", "training", "meeting", "after_call_work", "other"])
def test_pause_reasons_parse_from_their_stored_values(value):
    assert PauseReason(value) == value
