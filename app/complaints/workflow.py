"""R15's complaint workflow as a pure state machine: the allowed transitions in one table, and
`transition(current, to)` that returns the next state or raises `InvalidTransition` (409).

    received -> dispatched -> in_progress -> resolved -> called_back -> closed
    resolved | called_back | closed | closed_unreachable -> reopened -> dispatched | in_progress
    resolved -> closed_unreachable   (after the configured failed call-back attempts)

A complaint is closed only after the customer was called back (R15's 100 % call-back rate) or
given up as unreachable.
"""

from __future__ import annotations

from types import MappingProxyType

from app.complaints.models import ComplaintStatus as S
from app.errors import AppError


class InvalidTransition(AppError):
    status_code = 409
    error_id = "invalid-transition"
    message = "the complaint cannot go to that state from its current one"


# The event each transition records in the timeline, keyed by (from, to).
TRANSITIONS: MappingProxyType[tuple[S, S], str] = MappingProxyType({
    (S.received, S.dispatched): "dispatch",
    (S.dispatched, S.in_progress): "start",
    (S.in_progress, S.resolved): "resolve",
    (S.resolved, S.called_back): "call_back",
    (S.resolved, S.closed_unreachable): "close_unreachable",
    (S.called_back, S.closed): "close",
    (S.resolved, S.reopened): "reopen",
    (S.called_back, S.reopened): "reopen",
    (S.closed, S.reopened): "reopen",
    (S.closed_unreachable, S.reopened): "reopen",
    (S.reopened, S.dispatched): "dispatch",
    (S.reopened, S.in_progress): "start",
})


def allowed(current: str) -> list[S]:
    """The states a complaint in `current` may go to, in workflow order."""
    return [to for (frm, to) in TRANSITIONS if frm == current]


def event_for(current: str, to: str) -> str:
    """The timeline event of going from `current` to `to`; raises InvalidTransition."""
    try:
        return TRANSITIONS[(S(current), S(to))]
    except (KeyError, ValueError):
        raise InvalidTransition(
            f"a complaint cannot go from {current} to {to}", from_status=current, to_status=to,
            allowed=[str(s) for s in allowed(current)]) from None


def transition(current: str, to: str) -> S:
    """The next state; raises InvalidTransition when R15's workflow does not allow it."""
    event_for(current, to)
    return S(to)
