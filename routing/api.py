"""HTTP: agents, their states and queues (R9, R10, R13, R19).

Agents and queues are stored here and the live ACD (`app.deps.AcdDep`) is told to reload them after
every change. An agent's state is the ACD's alone: the state route asks the ACD, which refuses a
change while the agent rings or is on a call (409 `agent-busy`) and stores every change (R19).
Without a running ACD, reads show the stored state and the state route answers 503.

An agent's phone is a `contact` SIP URI or a PJSIP `registration` (`routing.phones`): after every
save the registration's objects are written to (or removed from) Asterisk through ARI; an
unreachable Asterisk leaves the agent saved but unprovisioned until the next sync. Reads say
whether each registration phone is provisioned and registered now.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app import dialrules
from app.auth.models import RoleName
from app.auth.service import require_role
from app.config import Settings
from app.deps import AcdDep, ClockDep, CurrentUser, SessionDep, SettingsDep, TelephonyDep
from app.errors import AcdUnavailable, AppError, Conflict, Forbidden, NotFound
from app.pagination import time_range
from routing import phones, service
from routing.engine import Acd
from routing.models import AgentRow, QueueRow
from routing.schemas import (AgentIn, AgentOut, AgentPatch, ContactPhone, QueueIn, QueueOut,
                             QueuePatch, StateChangeOut, StateRequest)

router = APIRouter(prefix="/api", tags=["routing"])

# Admins may do everything (require_role); these are the others allowed.
AGENT_READERS = (RoleName.team_lead, RoleName.manager, RoleName.qa)
AGENT_WRITERS = (RoleName.team_lead,)
QUEUE_READERS = (RoleName.team_lead, RoleName.manager)
HISTORY_READERS = (RoleName.team_lead, RoleName.manager)
ACD_DOWN = "call distribution is not running; agent states cannot be changed now"
LIVE_FIELDS = frozenset({"state", "state_reason", "state_since", "ready_since", "call_id"})


class AgentInactive(Conflict):
    error_id = "agent-inactive"
    message = "the agent is deactivated"


class InvalidOverflow(AppError):
    status_code = 422
    error_id = "invalid-overflow"
    message = "a queue cannot overflow into itself"


async def _outs(acd: Acd | None, telephony: Any | None,
                rows: list[AgentRow]) -> list[AgentOut]:
    """Agents as the API shows them: the live ACD state, and whether each registration phone is
    registered now (asked of Asterisk)."""
    registered = await phones.registered(telephony, rows)
    outs = []
    for row in rows:
        out = _with_live(AgentOut.model_validate(row), acd)
        if row.id in registered:
            out.phone = out.phone.model_copy(update={"registered": registered[row.id]})
        outs.append(out)
    return outs


async def _provision(telephony: Any | None, now: datetime, session: AsyncSession,
                     agent: AgentRow) -> None:
    """Bring Asterisk in line with the saved agent (its registration phone); never fails the
    request: an unreachable Asterisk is retried at the next sync."""
    await phones.provision(session=session, telephony=telephony, agent=agent, now=now)
    await session.commit()


def _with_live(out: AgentOut, acd: Any | None) -> AgentOut:
    """The stored agent with the ACD's live state over it, when the ACD knows the agent."""
    live = acd.live_state(out.id) if acd is not None else None
    if not live:
        return out
    return out.model_copy(update={k: v for k, v in live.items() if k in LIVE_FIELDS})


def _own_team(user: Any, team: str | None) -> None:
    """R20: team leads manage the agents of their own team; admins any."""
    if user.role is RoleName.team_lead and (user.team is None or team != user.team):
        raise Forbidden("team leads manage the agents of their own team")


async def _agent_or_404(session: AsyncSession, agent_id: uuid.UUID) -> AgentRow:
    agent = await service.get_agent(session=session, agent_id=agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent


async def _queue_or_404(session: AsyncSession, name: str) -> QueueRow:
    queue = await service.get_queue_by_name(session=session, name=name)
    if queue is None:
        raise NotFound(f"no queue {name!r}")
    return queue


def _check_overflow(name: str, overflow: dict[str, Any] | None) -> None:
    if overflow and overflow.get("kind") == "queue" and overflow.get("target") == name:
        raise InvalidOverflow(queue=name)


async def _reload_agents(acd: Acd | None) -> None:
    if acd is not None:
        await acd.reload_agents()


async def _reload_queues(acd: Acd | None) -> None:
    if acd is not None:
        await acd.reload_queues()


# -- agents ---------------------------------------------------------------------------------

def _contact_allowed(settings: Settings, body: AgentIn | AgentPatch) -> None:
    """#20, R20: customers' calls go only to phones on the agents' networks (422 otherwise)."""
    if isinstance(body.phone, ContactPhone):
        dialrules.check_contact(body.phone.contact, settings.agent_phone_networks)


@router.post("/agents", response_model=AgentOut, status_code=status.HTTP_201_CREATED)
async def create_agent(body: AgentIn, session: SessionDep, user: CurrentUser, acd: AcdDep,
                       telephony: TelephonyDep, clock: ClockDep,
                       settings: SettingsDep) -> AgentOut:
    """A new agent, logged out, with level (R10), skills and languages; 409 if the extension
    is taken; 422 `contact-not-allowed` for a contact off the agents' phone networks."""
    require_role(user, *AGENT_WRITERS)
    _own_team(user, body.team)
    _contact_allowed(settings, body)
    agent = await service.create_agent(session=session, agent_in=body)
    await session.commit()
    await _provision(telephony, clock.now(), session, agent)
    await _reload_agents(acd)
    return (await _outs(acd, telephony, [agent]))[0]


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(
    session: SessionDep, user: CurrentUser, acd: AcdDep, telephony: TelephonyDep,
    include_inactive: Annotated[bool, Query(description="deactivated agents too")] = False,
) -> list[AgentOut]:
    """Agents with their live state (R9, R19: who is busy and who is idle)."""
    require_role(user, *AGENT_READERS)
    rows = await service.list_agents(session=session, include_inactive=include_inactive)
    return await _outs(acd, telephony, rows)


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: uuid.UUID, session: SessionDep, user: CurrentUser, acd: AcdDep,
                    telephony: TelephonyDep) -> AgentOut:
    """One agent with its live state (R19)."""
    require_role(user, *AGENT_READERS)
    return (await _outs(acd, telephony, [await _agent_or_404(session, agent_id)]))[0]


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: uuid.UUID, body: AgentPatch, session: SessionDep,
                       user: CurrentUser, acd: AcdDep, telephony: TelephonyDep,
                       clock: ClockDep, settings: SettingsDep) -> AgentOut:
    """Change an agent's data (level R10, skills, languages, phone); not its state.
    `is_active: false` logs the agent out first (409 `agent-busy` while ringing or on a call)
    and takes it out of routing; its registration phone is unprovisioned."""
    require_role(user, *AGENT_WRITERS)
    _contact_allowed(settings, body)
    agent = await _agent_or_404(session, agent_id)
    _own_team(user, agent.team)
    if "team" in body.model_fields_set:
        _own_team(user, body.team)
    if body.is_active is False and agent.is_active:
        if acd is not None:
            await session.rollback()  # hold no transaction while the ACD works
            await acd.request_state(agent_id, "logged_out", None)
            agent = await _agent_or_404(session, agent_id)
        await service.deactivate_agent(session=session, agent=agent)
    elif body.is_active and not agent.is_active:
        await service.reactivate_agent(session=session, agent=agent)
    agent = await service.update_agent(session=session, agent=agent, patch=body)
    await session.commit()
    await _provision(telephony, clock.now(), session, agent)
    await _reload_agents(acd)
    return (await _outs(acd, telephony, [agent]))[0]


@router.post("/agents/{agent_id}/state", response_model=AgentOut)
async def request_state(agent_id: uuid.UUID, body: StateRequest, session: SessionDep,
                        user: CurrentUser, acd: AcdDep, telephony: TelephonyDep) -> AgentOut:
    """Ready, paused (with a reason, "other" if none) or logged out (R9, R19). The ACD decides:
    409 `agent-busy` while the agent rings or is on a call; 503 when the ACD is not running."""
    require_role(user, *AGENT_WRITERS)
    agent = await _agent_or_404(session, agent_id)
    _own_team(user, agent.team)
    if not agent.is_active:
        raise AgentInactive(agent_id=str(agent_id))
    if acd is None:
        raise AcdUnavailable(ACD_DOWN)
    await session.rollback()  # hold no transaction while the ACD works
    new_state = await acd.request_state(agent_id, body.state, body.reason)
    agent = await _agent_or_404(session, agent_id)  # its live state over it: stored behind (R21)
    return (await _outs(acd, telephony, [agent]))[0].model_copy(update={"state": str(new_state)})


@router.get("/agents/{agent_id}/states", response_model=list[StateChangeOut])
async def state_history(
    agent_id: uuid.UUID, session: SessionDep, user: CurrentUser,
    since: Annotated[datetime | None, Query(description="at or after (with offset)")] = None,
    until: Annotated[datetime | None, Query(description="before (with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[StateChangeOut]:
    """The agent's state changes, oldest first: busy and idle time for staffing (R19)."""
    require_role(user, *HISTORY_READERS)
    since, until = time_range(since, until)
    await _agent_or_404(session, agent_id)
    rows = await service.state_history(session=session, agent_id=agent_id, since=since,
                                       until=until, limit=limit)
    return [StateChangeOut.model_validate(r) for r in rows]


# -- queues (R9, R13) -----------------------------------------------------------------------

@router.post("/queues", response_model=QueueOut, status_code=status.HTTP_201_CREATED)
async def create_queue(body: QueueIn, session: SessionDep, user: CurrentUser,
                       acd: AcdDep) -> QueueOut:
    """A new queue (R9) with its wrap-up time (R13); 409 if the name is taken."""
    require_role(user)  # admins only
    _check_overflow(body.name, body.overflow.model_dump() if body.overflow else None)
    queue = await service.create_queue(session=session, queue_in=body)
    out = QueueOut.model_validate(queue)
    await session.commit()
    await _reload_queues(acd)
    return out


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(session: SessionDep, user: CurrentUser) -> list[QueueOut]:
    require_role(user, *QUEUE_READERS)
    return [QueueOut.model_validate(q) for q in await service.list_queues(session=session)]


@router.get("/queues/{name}", response_model=QueueOut)
async def get_queue(name: str, session: SessionDep, user: CurrentUser) -> QueueOut:
    require_role(user, *QUEUE_READERS)
    return QueueOut.model_validate(await _queue_or_404(session, name))


@router.patch("/queues/{name}", response_model=QueueOut)
async def update_queue(name: str, body: QueuePatch, session: SessionDep, user: CurrentUser,
                       acd: AcdDep) -> QueueOut:
    """Change a queue (R9, R13); the ACD takes the change for calls that arrive next."""
    require_role(user)
    queue = await _queue_or_404(session, name)
    if "overflow" in body.model_fields_set:
        _check_overflow(name, body.overflow.model_dump() if body.overflow else None)
    queue = await service.update_queue(session=session, queue=queue, patch=body)
    out = QueueOut.model_validate(queue)
    await session.commit()
    await _reload_queues(acd)
    return out


@router.delete("/queues/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_queue(name: str, session: SessionDep, user: CurrentUser,
                       acd: AcdDep) -> Response:
    require_role(user)
    await service.delete_queue(session=session, queue=await _queue_or_404(session, name))
    await session.commit()
    await _reload_queues(acd)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
