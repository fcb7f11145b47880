"""HTTP: complaint intake (R14), reading complaints, and R15's workflow.

- `POST /api/complaints`: intake (below).
- `GET /api/complaints?status=&overdue=true&team=`: agents their own, team leads their team's
  agents' complaints, inspectors (numbers masked) and managers all; overdue ones first; `team`
  keeps those owned by an agent of that team (a team lead may name only their own: 403).
- `GET /api/complaints/overdue?team=`: the overdue ones (team leads their team's, managers all).
- `GET /api/complaints/{id}`, `GET /api/complaints/{id}/timeline`.
- `POST /api/complaints/{id}/transitions` {to, note, department_id?, assignee_user_id?}: team
  leads (their team's) and managers; 409 `invalid-transition` when the workflow does not allow it.
- `PATCH /api/complaints/{id}/owner` {owner_agent_id, note}: team leads (within their team) and
  managers only (R12: otherwise the first-contact agent stays the owner).
- `PATCH /api/complaints/{id}/severity` {severity, note}: raising it to major or crisis tells
  the department head at once.
- `/api/departments`: read by everyone signed in, changed by managers and admins.
Every change is in the complaint's timeline and the audit log. Major and crisis complaints reach
the department head, the team leads and managers at once (desk notice, department webhook).

`POST /api/complaints` is what the agent desktop's form sends: the customer's name and number
(prefilled from the call), address, responsible person, summary and severity. The complaint is
owned by the agent who took it (first-contact ownership, R12), gets its R15 deadlines, and the
customer record is completed with the name and address if it lacked them (R14). Audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Query, Response, status

from app.audit import service as audit
from app.auth.models import RoleName
from app.auth.service import Principal, require_role
from app.callbacks import service as callbacks
from app.calls import service as calls
from app.complaints import alerts, deadlines, service, workflow
from app.complaints.models import URGENT_SEVERITIES, Complaint, ComplaintStatus, Department
from app.complaints.schemas import (ComplaintIn, ComplaintOut, DeadlineOut, DepartmentIn,
                                    DepartmentOut, DepartmentPatch, EventOut, OwnerIn, SeverityIn,
                                    TransitionIn)
from app.customers import service as customers
from app.customers.numbers import mask
from app.deps import ClockDep, CurrentUser, DeskDep, SessionDep, SettingsDep, WebhooksDep
from app.desk import scope
from app.desk.notifier import DeskNotifier
from app.errors import AppError, Forbidden, NotFound
from routing import service as routing

log = structlog.get_logger(__name__)
complaints = APIRouter(prefix="/api/complaints", tags=["complaints"])
departments = APIRouter(prefix="/api/departments", tags=["complaints"])
TAKERS = (RoleName.agent, RoleName.team_lead, RoleName.manager)
READERS = (RoleName.agent, RoleName.team_lead, RoleName.manager, RoleName.qa)
LISTERS = (*READERS, RoleName.admin)
WORKERS = (RoleName.team_lead, RoleName.manager, RoleName.admin)  # move it through the workflow
OWNER_SETTERS = (RoleName.team_lead, RoleName.manager)            # R12
DEPARTMENT_EDITORS = (RoleName.manager, RoleName.admin)
LIST_LIMIT = 500


class CustomerMismatch(AppError):
    status_code = 422
    error_id = "customer-mismatch"
    message = "customer_id is not the customer of that call"


@complaints.post("", response_model=ComplaintOut, status_code=status.HTTP_201_CREATED)
async def take_complaint(body: ComplaintIn, principal: CurrentUser, session: SessionDep,
                         settings: SettingsDep, clock: ClockDep, desk: DeskDep,
                         webhooks: WebhooksDep) -> ComplaintOut:
    require_role(principal, *TAKERS)
    now = clock.now()
    call = None
    if body.call_id is not None:
        call = await calls.by_id(session=session, call_id=body.call_id)
        if call is None:
            raise NotFound("no such call")
        if not await scope.may_see_call(session=session, principal=principal, call_id=call.id,
                                        now=now):
            raise Forbidden("that call is not one of yours")
        if (body.customer_id is not None and call.customer_id is not None
                and call.customer_id != body.customer_id):
            raise CustomerMismatch()
    elif principal.role is RoleName.agent:
        raise Forbidden("agents take complaints on a call: give its call_id")
    customer = None
    customer_id = body.customer_id or (call.customer_id if call else None)
    if customer_id is not None:
        customer = await customers.get(session=session, customer_id=customer_id)
        if customer is None:
            raise NotFound("no such customer")
        if body.customer_id is not None and (call is None or call.customer_id is None):
            # R20: a record named by id is one this user may see, or the caller's own number
            if call is not None and customer.phone != body.phone:
                raise CustomerMismatch()
            if call is None and await scope.may_see_customer(
                    session=session, principal=principal, customer_id=customer.id,
                    now=now) is False:
                raise Forbidden("this customer is not on one of your calls")
    else:
        customer = await customers.match_or_create(session=session, number=body.phone)
    if customer is not None:  # R14: the archive learns what the complaint form was told
        if not customer.name:
            customer.name = body.customer_name
        if body.address and not customer.address:
            customer.address = body.address
    department = None
    if body.department_id is not None:
        department = await service.department(session=session, department_id=body.department_id)
        if department is None:
            raise NotFound("no such department")
    complaint = await service.create(
        session=session, received_at=now, zone=settings.zone,
        holidays=settings.calendar.holidays, weekend=settings.calendar.weekend,
        actor=principal.subject,
        customer_id=customer.id if customer else None, customer_name=body.customer_name,
        customer_number=body.phone, address=body.address,
        responsible_person=body.responsible_person, summary=body.summary,
        severity=body.severity, call_id=call.id if call else None,
        owner_agent_id=principal.agent_id or (call.agent_id if call else None),
        created_by=principal.user_id)
    audit.record(session=session, principal=principal, at=now, action="create",
                 entity="complaint", entity_id=complaint.id, reason="intake",
                 call_id=complaint.call_id, detail={"severity": str(body.severity)})
    if department is not None:
        complaint.department_id = department.id
    await session.commit()
    if complaint.severity in URGENT_SEVERITIES:  # R15: the department head at once
        await _urgent(desk, webhooks, session, complaint, now, "intake")
    return _out(complaint, now, principal)


@complaints.get("", response_model=list[ComplaintOut])
async def list_complaints(principal: CurrentUser, session: SessionDep, clock: ClockDep,
                          status_: Annotated[ComplaintStatus | None, Query(alias="status")] = None,
                          overdue: bool = False,
                          team: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                          ) -> list[ComplaintOut]:
    """R15: the complaints this user may see, overdue ones first (earliest deadline first), then
    the newest; `status` filters by state, `overdue=true` keeps only overdue ones, `team` those
    owned by an agent of that team."""
    require_role(principal, *LISTERS)
    if team is not None and principal.role is RoleName.team_lead and team != principal.team:
        raise Forbidden("a team lead sees their own team's complaints")
    now = clock.now()
    rows = await service.list_visible(session=session, principal=principal, status=status_,
                                      team=team, pending_only=overdue, limit=LIST_LIMIT)
    out = [_out(c, now, principal) for c in rows]
    if overdue:
        out = [c for c in out if c.overdue]
    out.sort(key=_urgency)
    audit.record(session=session, principal=principal, at=now, action="view", entity="complaint",
                 entity_id="list", reason="list",
                 detail={"status": status_, "overdue": overdue, "team": team, "count": len(out)})
    await session.commit()
    return out


@complaints.get("/overdue", response_model=list[ComplaintOut])
async def overdue_complaints(
        principal: CurrentUser, session: SessionDep, clock: ClockDep,
        team: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[ComplaintOut]:
    """R15: the overdue complaints for team leads (their team's) and managers, most overdue
    first; `team` as for the list."""
    require_role(principal, *WORKERS)
    return await list_complaints(principal, session, clock, None, True, team)


@complaints.get("/{complaint_id}", response_model=ComplaintOut)
async def get_complaint(complaint_id: uuid.UUID, principal: CurrentUser, session: SessionDep,
                        clock: ClockDep) -> ComplaintOut:
    require_role(principal, *READERS)
    now = clock.now()
    complaint = await _readable(session, principal, complaint_id, now)
    audit.record(session=session, principal=principal, at=now, action="view", entity="complaint",
                 entity_id=complaint.id, reason="record", call_id=complaint.call_id)
    await session.commit()
    return _out(complaint, now, principal)


@complaints.get("/{complaint_id}/timeline", response_model=list[EventOut])
async def timeline(complaint_id: uuid.UUID, principal: CurrentUser, session: SessionDep,
                   clock: ClockDep) -> list[EventOut]:
    """R15: every change of the complaint, oldest first: who, when, from -> to, note."""
    require_role(principal, *LISTERS)
    now = clock.now()
    complaint = await _readable(session, principal, complaint_id, now)
    rows = await service.events_of(session=session, complaint_id=complaint.id)
    out = [EventOut.model_validate(row) for row in rows]
    audit.record(session=session, principal=principal, at=now, action="view", entity="complaint",
                 entity_id=complaint.id, reason="timeline", call_id=complaint.call_id)
    await session.commit()
    return out


@complaints.post("/{complaint_id}/transitions", response_model=ComplaintOut)
async def transition(complaint_id: uuid.UUID, body: TransitionIn, principal: CurrentUser,
                     session: SessionDep, settings: SettingsDep, clock: ClockDep, desk: DeskDep,
                     webhooks: WebhooksDep) -> ComplaintOut:
    """R15: the next step of the workflow; 409 invalid-transition (nothing stored) otherwise."""
    require_role(principal, *WORKERS)
    now = clock.now()
    complaint = await _readable(session, principal, complaint_id, now)
    workflow.event_for(complaint.status, body.to)  # 409 before anything else is looked at
    if body.department_id is not None and await service.department(
            session=session, department_id=body.department_id) is None:
        raise NotFound("no such department")
    if body.assignee_user_id is not None and not await service.user_exists(
            session=session, user_id=body.assignee_user_id, active=True):
        raise NotFound("no such user")
    before = complaint.department_id
    complaint = await service.transition(
        session=session, complaint_id=complaint.id, to=body.to, at=now, principal=principal,
        calendar=settings.calendar, note=body.note, department_id=body.department_id,
        assignee_user_id=body.assignee_user_id, max_attempts=settings.callback_max_attempts)
    # R15: a resolved complaint's call-back task opens now (a reopened one's live task is cancelled).
    await callbacks.sync_complaints(session=session, now=now,
                                    max_attempts=settings.callback_max_attempts,
                                    language=settings.default_language)
    await session.commit()
    if (complaint.status == ComplaintStatus.dispatched and complaint.severity in URGENT_SEVERITIES
            and complaint.department_id != before):
        # a new department's head
        await _urgent(desk, webhooks, session, complaint, now, "dispatch")
    return _out(complaint, now, principal)


@complaints.patch("/{complaint_id}/owner", response_model=ComplaintOut)
async def reassign(complaint_id: uuid.UUID, body: OwnerIn, principal: CurrentUser,
                   session: SessionDep, clock: ClockDep) -> ComplaintOut:
    """R12: only a team lead (to an agent of their team) or a manager changes the owner."""
    require_role(principal, *OWNER_SETTERS)
    now = clock.now()
    complaint = await _readable(session, principal, complaint_id, now)
    agent = await routing.get_agent(session=session, agent_id=body.owner_agent_id)
    if agent is None:
        raise NotFound("no such agent")
    if principal.role is RoleName.team_lead and agent.team != principal.team:
        raise Forbidden("a team lead gives complaints to agents of their own team")
    complaint, detail = await service.set_owner(session=session, complaint_id=complaint.id,
                                                agent=agent, principal=principal, at=now,
                                                note=body.note)
    audit.record(session=session, principal=principal, at=now, action="update",
                 entity="complaint", entity_id=complaint.id, reason="owner",
                 call_id=complaint.call_id, detail=detail)
    await session.commit()
    return _out(complaint, now, principal)


@complaints.patch("/{complaint_id}/severity", response_model=ComplaintOut)
async def set_severity(complaint_id: uuid.UUID, body: SeverityIn, principal: CurrentUser,
                       session: SessionDep, clock: ClockDep, desk: DeskDep,
                       webhooks: WebhooksDep) -> ComplaintOut:
    """Reclassify (R15 "classify"); raised to major or crisis, the head is told at once."""
    require_role(principal, *TAKERS)
    now = clock.now()
    complaint = await _readable(session, principal, complaint_id, now)
    after = str(body.severity)
    complaint, before, detail = await service.set_severity(
        session=session, complaint_id=complaint.id, severity=after, principal=principal, at=now,
        note=body.note)
    if detail is not None:
        audit.record(session=session, principal=principal, at=now, action="update",
                     entity="complaint", entity_id=complaint.id, reason="severity",
                     call_id=complaint.call_id, detail=detail)
    await session.commit()
    if alerts.is_raise(before, after):
        await _urgent(desk, webhooks, session, complaint, now, "severity")
    return _out(complaint, now, principal)


# -- departments ------------------------------------------------------------------------------
@departments.get("", response_model=list[DepartmentOut])
async def list_departments(principal: CurrentUser, session: SessionDep) -> list[DepartmentOut]:
    require_role(principal, *LISTERS)
    return [DepartmentOut.model_validate(row).model_copy(update={"head_name": head})
            for row, head in await service.departments(session=session)]


@departments.post("", response_model=DepartmentOut, status_code=status.HTTP_201_CREATED)
async def create_department(body: DepartmentIn, principal: CurrentUser, session: SessionDep,
                            clock: ClockDep) -> DepartmentOut:
    require_role(principal, *DEPARTMENT_EDITORS)
    await _check_head(session, body.head_user_id)
    row = await service.create_department(session=session, name=body.name,
                                          head_user_id=body.head_user_id,
                                          webhook_url=body.webhook_url)
    _audit_department(session, principal, clock.now(), row, "create", body.model_dump(mode="json"))
    await session.commit()
    return DepartmentOut.model_validate(row)


@departments.patch("/{department_id}", response_model=DepartmentOut)
async def update_department(department_id: uuid.UUID, body: DepartmentPatch,
                            principal: CurrentUser, session: SessionDep,
                            clock: ClockDep) -> DepartmentOut:
    require_role(principal, *DEPARTMENT_EDITORS)
    row = await _department_or_404(session, department_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise AppError("a department needs a name")
    if "head_user_id" in changes:
        await _check_head(session, changes["head_user_id"])
    await service.update_department(session=session, department=row, changes=changes)
    _audit_department(session, principal, clock.now(), row, "update",
                      body.model_dump(mode="json", exclude_unset=True))
    await session.commit()
    return DepartmentOut.model_validate(row)


@departments.delete("/{department_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_department(department_id: uuid.UUID, principal: CurrentUser,
                            session: SessionDep, clock: ClockDep) -> Response:
    """Complaints dispatched there keep their history; their department becomes empty."""
    require_role(principal, *DEPARTMENT_EDITORS)
    row = await _department_or_404(session, department_id)
    _audit_department(session, principal, clock.now(), row, "delete", {"name": row.name})
    await service.delete_department(session=session, department=row)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _department_or_404(session, department_id: uuid.UUID) -> Department:  # noqa: ANN001
    row = await service.department(session=session, department_id=department_id)
    if row is None:
        raise NotFound("no such department")
    return row


async def _check_head(session, user_id: uuid.UUID | None) -> None:  # noqa: ANN001
    if user_id is not None and not await service.user_exists(session=session, user_id=user_id):
        raise NotFound("no such user")


def _audit_department(session, principal: Principal, at: datetime, row: Department,  # noqa: ANN001
                      action: str, detail: dict) -> None:
    audit.record(session=session, principal=principal, at=at, action=action,
                 entity="department", entity_id=row.id, reason="edit", detail=detail)


# -- helpers ----------------------------------------------------------------------------------
def _out(complaint: Complaint, now: datetime, principal: Principal) -> ComplaintOut:
    """The complaint with its R15 deadlines at `now`; the number masked for inspectors."""
    pending = deadlines.pending(complaint, now)
    out = ComplaintOut.model_validate(complaint).model_copy(update={
        "deadlines": [DeadlineOut(name=d.name, due_at=d.due_at, overdue=d.overdue)
                      for d in pending],
        "overdue": [d.name for d in pending if d.overdue],
        "next_states": [str(s) for s in workflow.allowed(complaint.status)]})
    if principal.role is RoleName.qa:
        out = out.model_copy(update={"customer_number": mask(out.customer_number)})
    return out


def _urgency(c: ComplaintOut) -> tuple:
    """Overdue first, the longest overdue first; then the newest."""
    late = [d.due_at for d in c.deadlines if d.overdue]
    return (0, min(late).timestamp(), 0.0) if late else (1, 0.0, -c.created_at.timestamp())


async def _readable(session, principal: Principal, complaint_id: uuid.UUID,  # noqa: ANN001
                    now: datetime) -> Complaint:
    complaint = await service.get(session=session, complaint_id=complaint_id)
    if complaint is None:
        raise NotFound("no such complaint")
    if not await service.may_read(session=session, principal=principal, complaint=complaint,
                                  now=now):
        raise Forbidden("not one of your complaints" if principal.role is RoleName.agent
                        else "not one of your team's complaints")
    return complaint


async def _urgent(desk: DeskNotifier, webhooks: alerts.Webhooks, session,  # noqa: ANN001
                  complaint: Complaint, now: datetime, why: str) -> None:
    """R15: the department head, team leads and managers told; in the timeline. Never fails the
    request: the change is already stored."""
    try:
        screens = await alerts.urgent(session=session, desk=desk, webhooks=webhooks,
                                      complaint=complaint, at=now, why=why)
        service.add_event(session=session, complaint=complaint, at=now, event="notice",
                          actor="system", note=f"{complaint.severity}: department head notified",
                          detail={"why": why, "screens": screens,
                                  "department_id": str(complaint.department_id)
                                  if complaint.department_id else None})
        await session.commit()
    except Exception as exc:  # noqa: BLE001 - logged; the complaint itself is stored
        await session.rollback()
        log.error("complaint.notice_failed", complaint=str(complaint.id), error=repr(exc))


router = APIRouter()
router.include_router(complaints)
router.include_router(departments)
