"""HTTP: complaint intake (R14) and reading a complaint. The workflow with its state changes,
dispatching and call-backs (R15) builds on these records.

`POST /api/complaints` is what the agent desktop's form sends: the customer's name and number
(prefilled from the call), address, responsible person, summary and severity. The complaint is
owned by the agent who took it (first-contact ownership, R12), gets its R15 deadlines, and the
customer record is completed with the name and address if it lacked them (R14). Audited.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from app.audit import service as audit
from app.auth.models import RoleName
from app.auth.service import require_role
from app.calls.models import Call
from app.complaints import service
from app.complaints.models import Complaint
from app.complaints.schemas import ComplaintIn, ComplaintOut
from app.customers import service as customers
from app.customers.numbers import mask
from app.deps import CurrentUser, SessionDep, SettingsDep
from app.desk import scope
from app.errors import AppError, Forbidden, NotFound
from routing.models import AgentRow

router = APIRouter(prefix="/api/complaints", tags=["complaints"])
TAKERS = (RoleName.agent, RoleName.team_lead, RoleName.manager)
READERS = (RoleName.agent, RoleName.team_lead, RoleName.manager, RoleName.qa)


class CustomerMismatch(AppError):
    status_code = 422
    error_id = "customer-mismatch"
    message = "customer_id is not the customer of that call"


@router.post("", response_model=ComplaintOut, status_code=status.HTTP_201_CREATED)
async def take_complaint(body: ComplaintIn, request: Request, principal: CurrentUser,
                         session: SessionDep, settings: SettingsDep) -> ComplaintOut:
    require_role(principal, *TAKERS)
    now = request.app.state.clock.now()
    call = None
    if body.call_id is not None:
        call = await session.get(Call, body.call_id)
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
    complaint = await service.create(
        session=session, received_at=now, zone=settings.zone,
        customer_id=customer.id if customer else None, customer_name=body.customer_name,
        customer_number=body.phone, address=body.address,
        responsible_person=body.responsible_person, summary=body.summary,
        severity=body.severity, call_id=call.id if call else None,
        owner_agent_id=principal.agent_id or (call.agent_id if call else None),
        created_by=principal.user_id)
    audit.record(session=session, principal=principal, at=now, action="create",
                 entity="complaint", entity_id=complaint.id, reason="intake",
                 call_id=complaint.call_id, detail={"severity": str(body.severity)})
    await session.commit()
    return ComplaintOut.model_validate(complaint)


@router.get("/{complaint_id}", response_model=ComplaintOut)
async def get_complaint(complaint_id: uuid.UUID, request: Request, principal: CurrentUser,
                        session: SessionDep) -> ComplaintOut:
    require_role(principal, *READERS)
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound("no such complaint")
    now = request.app.state.clock.now()
    if not await _may_read(session, principal, complaint, now):
        raise Forbidden("not one of your complaints" if principal.role is RoleName.agent
                        else "not one of your team's complaints")
    audit.record(session=session, principal=principal, at=now, action="view", entity="complaint",
                 entity_id=complaint.id, reason="record", call_id=complaint.call_id)
    await session.commit()
    out = ComplaintOut.model_validate(complaint)
    if principal.role is RoleName.qa:
        out = out.model_copy(update={"customer_number": mask(out.customer_number)})
    return out


async def _may_read(session, principal, complaint: Complaint, now) -> bool:  # noqa: ANN001
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
