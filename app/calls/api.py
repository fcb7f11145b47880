"""HTTP: the call log. `GET /api/calls` (newest first, time range, cursor pages) and one call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.auth import access
from app.auth.models import RoleName
from app.auth.service import require_role
from app.calls import service
from app.audit import service as audit
from app.calls.schemas import (CallDetail, CallEventOut, CallOut, CallPage, DispositionIn,
                               IvrStepOut, OfferOut)
from app.desk import scope
from app.deps import ClockDep, CurrentUser, LiveCallsDep, SessionDep
from app.errors import Forbidden, NotFound
from app.pagination import decode_cursor, encode_cursor, time_range
from ivr import service as ivr_store
from ivr.menu import NAME
from routing import offers as offer_store

router = APIRouter(prefix="/api/calls", tags=["calls"])
# R20: agents read their own calls, team leads their team's, quality inspectors all (numbers
# masked), managers all (app.desk.scope decides which; app.auth.access the numbers).
READERS = (RoleName.agent, RoleName.team_lead, RoleName.manager, RoleName.qa)
DISPOSERS = (RoleName.agent, RoleName.team_lead, RoleName.manager)


def _shown(out: CallOut, principal, *, full: bool) -> CallOut:
    """R20 (#20): every customer field masked unless `full` (app.auth.access's one policy)."""
    if full:
        return out
    return out.model_copy(update=access.customer_fields(
        out.model_dump(include=access.CUSTOMER_KEYS), full=False))


def _full_numbers(principal) -> bool:
    """In lists: managers and team leads (whose list is their team's calls) see numbers."""
    return principal.role in (RoleName.admin, RoleName.manager, RoleName.team_lead)


@router.get("", response_model=CallPage)
async def list_calls(
    session: SessionDep,
    user: CurrentUser,
    since: Annotated[datetime | None, Query(description="started at or after (with offset)")] = None,
    until: Annotated[datetime | None, Query(description="started before (with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> CallPage:
    require_role(user, *READERS)
    since, until = time_range(since, until)
    after = decode_cursor(cursor) if cursor else None
    rows = await service.list_calls(session=session, since=since, until=until, limit=limit + 1,
                                    after=after, visible=scope.team_calls_filter(user))
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(page[-1].started_at, page[-1].id) if more else None
    full = _full_numbers(user)
    return CallPage(items=[_shown(CallOut.model_validate(r), user, full=full) for r in page],
                    next_cursor=next_cursor)


class TransferIn(BaseModel):
    """R12. `blind`: to a queue, or to a named agent (then `queue` is where the call goes if
    that agent does not answer; by default the call's own queue). `warm`: consult the named
    agent while the caller holds; then /transfer/complete or /transfer/cancel."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["blind", "warm"] = "blind"
    queue: str | None = Field(None, pattern=NAME)
    agent_id: uuid.UUID | None = None
    # R10: an escalation goes to senior agents only (blind transfers).
    escalate: bool = False

    @model_validator(mode="after")
    def _a_target(self) -> "TransferIn":
        if self.queue is None and self.agent_id is None:
            raise ValueError("name a queue or an agent_id")
        if self.mode == "warm" and self.agent_id is None:
            raise ValueError("a warm transfer names the agent to consult")
        return self


async def _may_transfer(session, user, call_id: uuid.UUID, now: datetime) -> None:
    """R12: the agent on the call transfers it (or a team lead of their team, or a manager)."""
    require_role(user, RoleName.agent, RoleName.team_lead, RoleName.manager)
    if not await scope.may_see_call(session=session, principal=user, call_id=call_id, now=now):
        raise Forbidden("not one of your calls (or your team's)")


@router.post("/{call_id}/transfer", status_code=202)
async def transfer(call_id: uuid.UUID, body: TransferIn, session: SessionDep, user: CurrentUser,
                   clock: ClockDep, calls: LiveCallsDep) -> dict[str, str]:
    """Take the call from its agent to a queue or another agent (R12)."""
    await _may_transfer(session, user, call_id, clock.now())
    await calls.transfer(call_id, body.mode, queue=body.queue, agent_id=body.agent_id,
                         escalate=body.escalate)
    return {"status": "transferring" if body.mode == "blind" else "consulting"}


@router.post("/{call_id}/transfer/complete", status_code=202)
async def complete_transfer(call_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                            clock: ClockDep, calls: LiveCallsDep) -> dict[str, str]:
    """Warm transfer: the caller goes to the consulted agent."""
    await _may_transfer(session, user, call_id, clock.now())
    await calls.transfer(call_id, "complete")
    return {"status": "transferred"}


@router.post("/{call_id}/transfer/cancel", status_code=202)
async def cancel_transfer(call_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                          clock: ClockDep, calls: LiveCallsDep) -> dict[str, str]:
    """Warm transfer: back to the caller."""
    await _may_transfer(session, user, call_id, clock.now())
    await calls.transfer(call_id, "cancel")
    return {"status": "returned"}


@router.post("/{call_id}/disposition", response_model=CallOut)
async def set_disposition(call_id: uuid.UUID, body: DispositionIn, session: SessionDep,
                          user: CurrentUser, clock: ClockDep) -> CallOut:
    """R6: what the call was about, with notes; by its agent during or after the call (or
    their team lead, or a manager). Saving again replaces it; each save is audited."""
    require_role(user, *DISPOSERS)
    now = clock.now()
    call = await service.by_id(session=session, call_id=call_id)
    if call is None:
        raise NotFound(f"no call {call_id}")
    if not await scope.may_see_call(session=session, principal=user, call_id=call_id, now=now):
        raise Forbidden("not one of your calls")
    call.disposition, call.notes = body.disposition, body.notes.strip()
    call.disposition_by, call.disposition_at = user.user_id, now
    audit.record(session=session, principal=user, at=now, action="update", entity="call",
                 entity_id=call.id, reason="disposition", call_id=call.id,
                 detail={"disposition": body.disposition})
    await session.commit()
    return CallOut.model_validate(call)


@router.get("/{call_id}", response_model=CallDetail)
async def get_call(call_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                   clock: ClockDep) -> CallDetail:
    require_role(user, *READERS)
    now = clock.now()
    call = await service.get(session=session, call_id=call_id)
    if call is None:
        raise NotFound(f"no call {call_id}")
    if user.role is not RoleName.qa and not await scope.may_see_call(
            session=session, principal=user, call_id=call_id, now=now):
        raise Forbidden("not one of your calls (or your team's)")
    full = user.role is not RoleName.qa  # R20: agents see it on their current call only
    path = await ivr_store.path_of(session=session, call_id=call.id)
    offers = await offer_store.of_call(session=session, call_id=call.id)
    base = _shown(CallOut.model_validate(call), user, full=full).model_dump(
        exclude={"wait_seconds", "talk_seconds"})
    timeline = [CallEventOut.model_validate(e) for e in call.events]
    if not full:  # R20: the numbers in the timeline's details are masked too
        timeline = [e.model_copy(update={"detail": access.customer_fields(e.detail, full=False)})
                    for e in timeline]
    return CallDetail(**base, timeline=timeline,
                      ivr_path=[IvrStepOut.model_validate(s) for s in path],
                      offers=[OfferOut.model_validate(o) for o in offers])
