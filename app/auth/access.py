"""What each role may see (R20), as plain decisions the routes apply.

- agents: the customer on their current call (ringing or connected) and customers they look up
  by the full number; the calls they handled themselves.
- team leads: their team's calls and those calls' customers.
- quality inspectors: calls (for recordings and scoring), with numbers masked.
- managers and admins: everything.
Numbers are shown in full only where the duty needs them (calling back, identifying the caller);
everywhere else they are masked, 138****8000.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.auth.models import RoleName
from app.auth.service import Principal
from app.customers.numbers import mask

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
