"""Which calls (and so which customers) a user may see, from the database (R20).

An agent's own calls are those with an offer to them that is ringing, or that they answered
while the call is live or ended less than `AFTER_CALL` ago: long enough to finish the
disposition and a complaint after the caller hangs up (R13's wrap-up and a margin). A team
lead's are those answered by an agent of their team. Managers see all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.access import SEES_ALL
from app.auth.models import RoleName
from app.auth.service import Principal
from app.calls.models import Call
from routing.models import AgentRow, OfferRow

AFTER_CALL = timedelta(minutes=30)


def _agent_current(agent_id: uuid.UUID, now: datetime):
    """Offers that make a call the agent's current one: ringing (no outcome yet) on a call that
    is live, or answered. An offer whose outcome was never written (the service stopped while
    it rang) gives nothing once the call has ended."""
    return and_(OfferRow.call_id == Call.id, OfferRow.agent_id == agent_id, or_(
        and_(OfferRow.outcome.is_(None), Call.ended_at.is_(None)),
        and_(OfferRow.outcome == "answered",
             or_(Call.ended_at.is_(None), Call.ended_at > now - AFTER_CALL))))


def _team_handled(team: str):
    return and_(OfferRow.call_id == Call.id, OfferRow.outcome == "answered",
                OfferRow.agent_id.in_(select(AgentRow.id).where(AgentRow.team == team)))


async def is_current_call(*, session: AsyncSession, principal: Principal, call_id: uuid.UUID,
                          now: datetime) -> bool:
    """The call is ringing at or with this agent now (or just ended)."""
    if principal.agent_id is None:
        return False
    return bool(await session.scalar(select(exists().where(
        Call.id == call_id, _agent_current(principal.agent_id, now)))))


async def may_see_call(*, session: AsyncSession, principal: Principal, call_id: uuid.UUID,
                       now: datetime) -> bool:
    if principal.role in SEES_ALL:
        return True
    if principal.role is RoleName.agent:
        return await is_current_call(session=session, principal=principal, call_id=call_id,
                                     now=now)
    if principal.role is RoleName.team_lead and principal.team:
        return bool(await session.scalar(select(exists().where(
            Call.id == call_id, _team_handled(principal.team)))))
    return False


async def may_see_customer(*, session: AsyncSession, principal: Principal,
                           customer_id: uuid.UUID, now: datetime) -> uuid.UUID | None | bool:
    """True for managers; else the id of the call that lets this user see the customer (the
    agent's current call, a call of the team lead's team), or False."""
    if principal.role in SEES_ALL:
        return True
    if principal.role is RoleName.agent and principal.agent_id is not None:
        condition = _agent_current(principal.agent_id, now)
    elif principal.role is RoleName.team_lead and principal.team:
        condition = _team_handled(principal.team)
    else:
        return False
    call_id = await session.scalar(select(Call.id).where(
        Call.customer_id == customer_id, exists().where(condition))
        .order_by(Call.started_at.desc()).limit(1))
    return call_id or False


def team_calls_filter(principal: Principal):
    """A WHERE clause on calls for list views: None means no restriction."""
    if principal.role in SEES_ALL or principal.role is RoleName.qa:
        return None
    if principal.role is RoleName.team_lead and principal.team:
        return exists().where(_team_handled(principal.team))
    if principal.role is RoleName.agent and principal.agent_id is not None:
        return exists().where(OfferRow.call_id == Call.id,
                              OfferRow.agent_id == principal.agent_id,
                              or_(OfferRow.outcome == "answered",
                                  and_(OfferRow.outcome.is_(None), Call.ended_at.is_(None))))
    return Call.id.is_(None)  # nothing
