"""What each role may see (R20), as plain decisions the routes apply.

- agents: the customer on their current call (ringing or connected) and customers they look up
  by the full number; the calls they handled themselves.
- team leads: their team's calls and those calls' customers.
- quality inspectors: calls (for recordings and scoring), with numbers masked.
- managers and admins: everything.
Numbers are shown in full only where the duty needs them (calling back, identifying the caller);
everywhere else they are masked, 138****8000.

One masking policy for every customer field (#20, R20): where a number is masked, so is every
other number or name of the customer in the same payload: a call's caller number and name, the
number a call-back dialled, and those in a timeline's detail (`customer_fields`). Names keep their
first character (`S**`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.auth.models import RoleName
from app.auth.service import Principal
from app.customers.numbers import mask, mask_name

SEES_ALL = (RoleName.manager, RoleName.admin)


@dataclass(frozen=True)
class CallScope:
    """Who handled a call: the agents on it (answered offers, owner) and their teams."""

    agent_ids: frozenset[uuid.UUID]
    teams: frozenset[str]


def may_see_call(principal: Principal, scope: CallScope) -> bool:
    if principal.role in SEES_ALL or principal.role is RoleName.qa:
        return True
    if principal.role is RoleName.team_lead:
        return principal.team is not None and principal.team in scope.teams
    if principal.role is RoleName.agent:
        return principal.agent_id is not None and principal.agent_id in scope.agent_ids
    return False


def full_numbers_on_call(principal: Principal, scope: CallScope, *, current: bool) -> bool:
    """Whether this principal sees a call's number in full: managers always; team leads on
    their team's calls; an agent on their current call only; quality inspectors never."""
    if principal.role in SEES_ALL:
        return True
    if principal.role is RoleName.team_lead:
        return may_see_call(principal, scope)
    if principal.role is RoleName.agent:
        return current and may_see_call(principal, scope)
    return False


def shown(number: str | None, full: bool) -> str | None:
    return number if full else mask(number)


# The keys that hold a customer's number or name wherever they appear (records, timeline details).
NUMBER_KEYS = frozenset({"caller_number", "dialed_number", "customer_number", "dial", "phone"})
NAME_KEYS = frozenset({"caller_name", "customer_name"})
CUSTOMER_KEYS = NUMBER_KEYS | NAME_KEYS


def _masked(key: str | None, value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _masked(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(key, v) for v in value]
    if isinstance(value, str) and key in NUMBER_KEYS:
        return mask(value)
    if isinstance(value, str) and key in NAME_KEYS:
        return mask_name(value)
    return value


def customer_fields(data: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
    """`data` with every customer number and name masked, nested ones too (unless `full`)."""
    return dict(data) if full else _masked(None, data)
