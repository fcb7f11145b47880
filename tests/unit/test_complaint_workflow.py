"""R15's complaint workflow as a pure state machine: the allowed steps go through, every other
(from, to) pair is refused with 409 `invalid-transition`."""

from __future__ import annotations

from itertools import product

import pytest

from app.complaints.models import ComplaintStatus as S
from app.complaints.workflow import TRANSITIONS, InvalidTransition, allowed, event_for, transition

ALLOWED = {
    (S.received, S.dispatched), (S.dispatched, S.in_progress), (S.in_progress, S.resolved),
    (S.resolved, S.called_back), (S.called_back, S.closed),
    (S.resolved, S.closed_unreachable),
    (S.resolved, S.reopened), (S.called_back, S.reopened), (S.closed, S.reopened),
    (S.closed_unreachable, S.reopened), (S.reopened, S.dispatched), (S.reopened, S.in_progress),
}
INVALID = sorted(set(product(S, S)) - ALLOWED)


def test_the_table_is_exactly_r15s_workflow():
    assert set(TRANSITIONS) == ALLOWED


@pytest.mark.parametrize(("current", "to"), sorted(ALLOWED))
def test_an_allowed_step_returns_the_next_state(current, to):
    assert transition(current, to) is to
    assert to in allowed(current)


@pytest.mark.parametrize(("current", "to"), INVALID, ids=[f"{a}->{b}" for a, b in INVALID])
def test_every_other_step_is_refused_with_409(current, to):
    with pytest.raises(InvalidTransition) as error:
        transition(current, to)
    assert (error.value.status_code, error.value.error_id) == (409, "invalid-transition")
    assert error.value.details["allowed"] == [str(s) for s in allowed(current)]


def test_there_are_52_invalid_pairs_including_staying_put():
    assert len(INVALID) == 64 - 12
    assert all((s, s) in INVALID for s in S)


@pytest.mark.parametrize(("current", "to"), [("received", "nonsense"), ("nonsense", "closed")])
def test_an_unknown_state_is_an_invalid_transition(current, to):
    with pytest.raises(InvalidTransition):
        event_for(current, to)


def test_the_happy_path_from_receipt_to_closing():
    state = S.received
    for to in (S.dispatched, S.in_progress, S.resolved, S.called_back, S.closed):
        state = transition(state, to)
    assert state is S.closed
    assert [event_for(a, b) for a, b in [(S.received, S.dispatched), (S.closed, S.reopened)]] == [
        "dispatch", "reopen"]
