"""Complaints: look-ups for the IVR (by number, R7; open ones by caller, R6), intake (R14), and
R15's workflow: every state change goes through `transition`, which checks it against
`workflow.TRANSITIONS`, stamps the step's time and deadlines, and writes the timeline
(`complaint_events`) and the audit log in the caller's transaction. Call-back attempts and
satisfaction scores come from the call-back service (R17). Reading complaints as a user may
(R20: `visible`, `may_read`), the owner and severity changes, and departments are here too:
the HTTP routes only validate, call these, audit and answer."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import RoleName, User
from app.auth.service import Principal
from app.calendar import WEEKEND, Calendar
from app.complaints import deadlines, workflow
from app.complaints.models import (OPEN_STATUSES, Complaint, ComplaintEvent, ComplaintStatus,
                                   Department)
from app.customers import service as customers
from app.desk import scope
from app.errors import AppError, Conflict, NotFound
from routing.models import AgentRow

CALLBACK_OUTCOMES = ("answered", "no_answer", "busy", "failed")


class CallbackAttemptsRemaining(AppError):
    status_code = 409
    error_id = "callback-attempts-remaining"
    message = "a complaint closes unreachable only after the configured failed call-back attempts"


class DepartmentExists(Conflict):
    error_id = "department-exists"
    message = "a department of that name exists"


class DispatchIncomplete(AppError):
    status_code = 422
    error_id = "dispatch-needs-department-and-assignee"
    message = "dispatching needs a department and an assignee"


async def by_number(*, session: AsyncSession, number: str) -> Complaint | None:
    return await session.scalar(select(Complaint).where(Complaint.number == number))


async def status_by_number(*, session: AsyncSession, number: str) -> tuple[str, str] | None:
    """A complaint's number and status by its number (the IVR's self-service lookup, R7)."""
    complaint = await by_number(session=session, number=number)
    return (complaint.number, str(complaint.status)) if complaint is not None else None


async def has_open(*, session: AsyncSession, customer_number: str | None) -> bool:
    """Whether this caller has a complaint that is still being handled."""
    if not customer_number:
        return False
    return bool(await session.scalar(select(exists().where(
        Complaint.customer_number == customer_number, Complaint.status.in_(OPEN_STATUSES)))))


async def open_severities(*, session: AsyncSession, customer_number: str | None) -> list[str]:
    """The severities (general, major, crisis) of this caller's complaints still being handled:
    R10 routes callers with a major or crisis one to senior agents."""
    if not customer_number:
        return []
    spellings = {customer_number, customers.normalise(customer_number) or customer_number}
    rows = await session.scalars(select(Complaint.severity).distinct().where(
        Complaint.customer_number.in_(spellings), Complaint.status.in_(OPEN_STATUSES)))
    return sorted(rows)


async def create(*, session: AsyncSession, received_at: datetime, zone: ZoneInfo,
                 customer_id: uuid.UUID | None, customer_name: str, customer_number: str,
                 address: str, responsible_person: str, summary: str, severity: str,
                 call_id: uuid.UUID | None, owner_agent_id: uuid.UUID | None,
                 created_by: uuid.UUID | None, holidays: Collection[date] = (),
                 weekend: Collection[int] = WEEKEND, actor: str = "system") -> Complaint:
    """R14 intake: a new complaint in state `received` with its R15 deadlines and a number the
    caller can key in later (R7): the day (yymmdd) and four random digits."""
    for _ in range(20):
        number = received_at.astimezone(zone).strftime("%y%m%d") + f"{secrets.randbelow(10_000):04d}"
        if await by_number(session=session, number=number) is None:
            break
    else:  # pragma: no cover - ten thousand numbers a day nearly used up
        raise RuntimeError("no free complaint number today")
    complaint = Complaint(
        number=number, customer_number=customer_number, status=ComplaintStatus.received,
        severity=severity, summary=summary, call_id=call_id, customer_id=customer_id,
        customer_name=customer_name, address=address, responsible_person=responsible_person,
        owner_agent_id=owner_agent_id, created_by=created_by, created_at=received_at,
        dispatch_due_at=deadlines.dispatch_due(received_at),
        handling_due_at=deadlines.handling_due(received_at, zone, holidays, weekend))
    session.add(complaint)
    await session.flush()
    add_event(session=session, complaint=complaint, at=received_at, event="received",
              to_status=ComplaintStatus.received, actor=actor, user_id=created_by,
              detail={"severity": str(severity)})
    return complaint


def add_event(*, session: AsyncSession, complaint: Complaint, at: datetime, event: str,
              actor: str, user_id: uuid.UUID | None = None, from_status: str | None = None,
              to_status: str | None = None, note: str = "",
              detail: dict[str, Any] | None = None) -> ComplaintEvent:
    """One line of the complaint's timeline, written with the caller's transaction."""
    row = ComplaintEvent(complaint_id=complaint.id, at=at, user_id=user_id, actor=actor,
                         from_status=from_status, to_status=to_status, event=event, note=note,
                         detail=detail or {})
    session.add(row)
    return row


async def get_for_update(*, session: AsyncSession, complaint_id: uuid.UUID) -> Complaint:
    """The complaint, locked for this transaction (changes to one complaint run in order)."""
    complaint = await session.scalar(
        select(Complaint).where(Complaint.id == complaint_id).with_for_update()
        .execution_options(populate_existing=True))
    if complaint is None:
        raise NotFound("no such complaint")
    return complaint


def _apply(complaint: Complaint, to: ComplaintStatus, at: datetime,
           calendar: Calendar | None) -> None:
    """Stamp the step's time and the deadlines it starts."""
    if to is ComplaintStatus.dispatched:
        complaint.dispatched_at = at
    elif to is ComplaintStatus.resolved:
        if calendar is None:  # pragma: no cover - programming error
            raise ValueError("resolving needs the working-day calendar")
        complaint.resolved_at = at
        complaint.callback_due_at = deadlines.callback_due(at, calendar)
        complaint.callback_deadline_at = deadlines.callback_deadline(at)
        complaint.callback_attempts = 0
    elif to is ComplaintStatus.called_back:
        complaint.called_back_at = at
    elif to in (ComplaintStatus.closed, ComplaintStatus.closed_unreachable):
        complaint.closed_at = at
    elif to is ComplaintStatus.reopened:
        if calendar is None:  # pragma: no cover - programming error
            raise ValueError("reopening needs the working-day calendar")
        # A reopened case is dispatched and handled again, with fresh R15 deadlines.
        complaint.reopened_count += 1
        complaint.dispatch_due_at = deadlines.dispatch_due(at)
        complaint.handling_due_at = deadlines.handling_due(at, calendar.zone, calendar.holidays,
                                                           calendar.weekend)
        complaint.resolved_at = complaint.called_back_at = complaint.closed_at = None
        complaint.callback_due_at = complaint.callback_deadline_at = None
        complaint.callback_attempts = 0
    complaint.status = to


async def transition(*, session: AsyncSession, complaint_id: uuid.UUID, to: str, at: datetime,
                     principal: Principal, calendar: Calendar, note: str = "",
                     department_id: uuid.UUID | None = None,
                     assignee_user_id: uuid.UUID | None = None,
                     max_attempts: int = deadlines.CALLBACK_MAX_ATTEMPTS) -> Complaint:
    """R15: move the complaint to `to` if the workflow allows it (else 409 invalid-transition,
    nothing stored); dispatching names the department and the assignee; closing unreachable
    needs `max_attempts` failed call-back attempts. Timeline and audit log written."""
    complaint = await get_for_update(session=session, complaint_id=complaint_id)
    current = complaint.status
    event = workflow.event_for(current, to)
    target = ComplaintStatus(to)
    detail: dict[str, Any] = {}
    if target is ComplaintStatus.dispatched:
        department_id = department_id or complaint.department_id
        assignee_user_id = assignee_user_id or complaint.assignee_user_id
        if department_id is None or assignee_user_id is None:
            raise DispatchIncomplete()
        complaint.department_id, complaint.assignee_user_id = department_id, assignee_user_id
        detail = {"department_id": str(department_id), "assignee_user_id": str(assignee_user_id)}
    elif department_id is not None or assignee_user_id is not None:
        raise AppError("department_id and assignee_user_id go with dispatching only")
    if target is ComplaintStatus.closed_unreachable and complaint.callback_attempts < max_attempts:
        raise CallbackAttemptsRemaining(attempts=complaint.callback_attempts,
                                        max_attempts=max_attempts)
    _apply(complaint, target, at, calendar)
    add_event(session=session, complaint=complaint, at=at, event=event, actor=principal.subject,
              user_id=principal.user_id, from_status=current, to_status=target, note=note,
              detail=detail)
    audit.record(session=session, principal=principal, at=at, action="update",
                 entity="complaint", entity_id=complaint.id, reason="workflow",
                 call_id=complaint.call_id,
                 detail={"from": current, "to": str(target), "note": note, **detail})
    await session.flush()
    return complaint


async def callback_attempted(*, session: AsyncSession, complaint_id: uuid.UUID, outcome: str,
                             at: datetime, actor: str = "system",
                             user_id: uuid.UUID | None = None,
                             max_attempts: int = deadlines.CALLBACK_MAX_ATTEMPTS) -> Complaint:
    """A call-back attempt's result (answered, no_answer, busy, failed): counted on the
    complaint; answered on a resolved complaint makes it called_back; the `max_attempts`-th
    attempt without an answer closes it unreachable (R15). Every effect in the timeline."""
    if outcome not in CALLBACK_OUTCOMES:
        raise ValueError(f"unknown call-back outcome {outcome!r}")
    complaint = await get_for_update(session=session, complaint_id=complaint_id)
    complaint.callback_attempts += 1
    add_event(session=session, complaint=complaint, at=at, event="callback_attempt", actor=actor,
              user_id=user_id, note=outcome,
              detail={"outcome": outcome, "attempt": complaint.callback_attempts,
                      "max_attempts": max_attempts})
    principal = Principal(subject=actor, role="system", user_id=user_id)  # type: ignore[arg-type]
    current = complaint.status
    if current == ComplaintStatus.resolved:
        target = None
        if outcome == "answered":
            target = ComplaintStatus.called_back
        elif complaint.callback_attempts >= max_attempts:
            target = ComplaintStatus.closed_unreachable
        if target is not None:
            event = workflow.event_for(current, target)
            _apply(complaint, target, at, None)
            note = (f"the customer answered attempt {complaint.callback_attempts}"
                    if outcome == "answered"
                    else f"{complaint.callback_attempts} call-back attempts without an answer")
            add_event(session=session, complaint=complaint, at=at, event=event, actor=actor,
                      user_id=user_id, from_status=current, to_status=target, note=note,
                      detail={"outcome": outcome, "attempt": complaint.callback_attempts})
            audit.record(session=session, principal=principal, at=at, action="update",
                         entity="complaint", entity_id=complaint.id, reason="callback",
                         detail={"from": current, "to": str(target), "note": note})
    await session.flush()
    return complaint


async def record_satisfaction(*, session: AsyncSession, complaint_id: uuid.UUID, score: int,
                              at: datetime) -> None:
    """R17: the customer's 1..5 score from the call-back's survey, on the complaint."""
    if not 1 <= score <= 5:
        raise ValueError("a satisfaction score is 1 to 5")
    complaint = await get_for_update(session=session, complaint_id=complaint_id)
    complaint.satisfaction = score
    add_event(session=session, complaint=complaint, at=at, event="satisfaction", actor="system",
              note=str(score), detail={"score": score})
    await session.flush()


async def awaiting_callback(*, session: AsyncSession) -> list[Complaint]:
    """Resolved complaints whose customer has not been called back yet, the earliest due first."""
    return list(await session.scalars(
        select(Complaint).where(Complaint.status == ComplaintStatus.resolved)
        .order_by(Complaint.callback_due_at.asc().nulls_last(), Complaint.resolved_at)))


# -- reading, as the user may (R20) ------------------------------------------------------------
# The states in which a complaint still has a deadline to meet (`overdue=true` looks at these).
PENDING_STATES = ("received", "dispatched", "in_progress", "reopened", "resolved")


async def get(*, session: AsyncSession, complaint_id: uuid.UUID) -> Complaint | None:
    """One complaint."""
    return await session.get(Complaint, complaint_id)


def visible(query: Select, principal: Principal) -> Select:
    """R20: agents their own complaints, team leads their team's agents', others all. A user
    without the link (an agent user with no agent, a team lead with no team) sees none: `== None`
    would be SQL's IS NULL and show the ownerless or teamless ones."""
    if principal.role is RoleName.agent:
        if principal.agent_id is None:
            return query.where(false())
        return query.where(Complaint.owner_agent_id == principal.agent_id)
    if principal.role is RoleName.team_lead:
        if not principal.team:
            return query.where(false())
        return query.where(Complaint.owner_agent_id.in_(
            select(AgentRow.id).where(AgentRow.team == principal.team)))
    return query


async def list_visible(*, session: AsyncSession, principal: Principal,
                       status: str | None, team: str | None, pending_only: bool,
                       limit: int) -> list[Complaint]:
    """The complaints this user may see, newest first; by status, by the owner's team, or only
    those in a state with a deadline to meet."""
    query = visible(select(Complaint), principal).order_by(Complaint.created_at.desc())
    if status is not None:
        query = query.where(Complaint.status == status)
    if team is not None:
        query = query.where(Complaint.owner_agent_id.in_(
            select(AgentRow.id).where(AgentRow.team == team)))
    if pending_only:
        query = query.where(Complaint.status.in_(PENDING_STATES))
    return list(await session.scalars(query.limit(limit)))


async def may_read(*, session: AsyncSession, principal: Principal, complaint: Complaint,
                   now: datetime) -> bool:
    """R20: agents their own complaints (or one on their current call), team leads those owned
    by an agent of their team (or on a call of their team), inspectors and managers all."""
    if principal.role not in (RoleName.agent, RoleName.team_lead):
        return True
    if principal.role is RoleName.agent:
        if principal.agent_id is not None and complaint.owner_agent_id == principal.agent_id:
            return True
    elif principal.team and complaint.owner_agent_id is not None:
        owner_team = await session.scalar(select(AgentRow.team).where(
            AgentRow.id == complaint.owner_agent_id))
        if owner_team == principal.team:
            return True
    return complaint.call_id is not None and await scope.may_see_call(
        session=session, principal=principal, call_id=complaint.call_id, now=now)


async def events_of(*, session: AsyncSession, complaint_id: uuid.UUID) -> list[ComplaintEvent]:
    """The complaint's timeline, oldest first."""
    return list(await session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.at, ComplaintEvent.id)))


# -- changes besides the workflow ----------------------------------------------------------------
async def set_owner(*, session: AsyncSession, complaint_id: uuid.UUID, agent: AgentRow,
                    principal: Principal, at: datetime, note: str) -> tuple[Complaint, dict]:
    """R12: give the complaint to another agent; in the timeline. The change's detail back."""
    complaint = await get_for_update(session=session, complaint_id=complaint_id)
    before = complaint.owner_agent_id
    complaint.owner_agent_id = agent.id
    detail = {"from": str(before) if before else None, "to": str(agent.id), "note": note}
    add_event(session=session, complaint=complaint, at=at, event="owner", actor=principal.subject,
              user_id=principal.user_id, note=note, detail={**detail, "agent": agent.name})
    return complaint, detail


async def set_severity(*, session: AsyncSession, complaint_id: uuid.UUID, severity: str,
                       principal: Principal, at: datetime,
                       note: str) -> tuple[Complaint, str, dict | None]:
    """Reclassify (R15); in the timeline when it changed. The severity before and the change's
    detail (None: unchanged) back."""
    complaint = await get_for_update(session=session, complaint_id=complaint_id)
    before = complaint.severity
    if before == severity:
        return complaint, before, None
    complaint.severity = severity
    detail = {"from": before, "to": severity, "note": note}
    add_event(session=session, complaint=complaint, at=at, event="severity",
              actor=principal.subject, user_id=principal.user_id, note=note, detail=detail)
    return complaint, before, detail


# -- departments -------------------------------------------------------------------------------
async def department(*, session: AsyncSession, department_id: uuid.UUID) -> Department | None:
    """One department."""
    return await session.get(Department, department_id)


async def departments(*, session: AsyncSession) -> list[tuple[Department, str | None]]:
    """Every department by name, with its head's name."""
    return [(row, head) for row, head in (await session.execute(
        select(Department, User.display_name).outerjoin(User, User.id == Department.head_user_id)
        .order_by(Department.name))).all()]


async def user_exists(*, session: AsyncSession, user_id: uuid.UUID,
                      active: bool = False) -> bool:
    """Whether the user (a department head, an assignee) exists (and is active)."""
    user = await session.get(User, user_id)
    return user is not None and (user.is_active or not active)


async def _flush_unique(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise DepartmentExists() from None


async def create_department(*, session: AsyncSession, name: str, head_user_id: uuid.UUID | None,
                            webhook_url: str | None) -> Department:
    """A new department; 409 department-exists for a name taken."""
    row = Department(name=name, head_user_id=head_user_id, webhook_url=webhook_url)
    session.add(row)
    await _flush_unique(session)
    return row


async def update_department(*, session: AsyncSession, department: Department,
                            changes: dict[str, Any]) -> Department:
    """Change a department's fields; 409 department-exists for a name taken."""
    for name, value in changes.items():
        setattr(department, name, value)
    await _flush_unique(session)
    return department


async def delete_department(*, session: AsyncSession, department: Department) -> None:
    """Complaints dispatched there keep their history; their department becomes empty."""
    await session.delete(department)
