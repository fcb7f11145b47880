"""HTTP: the customer archive (R14) under R20's rules.

- `GET /api/customers?phone=` finds a customer by the full number (any spelling); agents, team
  leads and managers; audited as a `search`.
- `GET /api/customers/{id}` the record with the last calls and open complaints; an agent only
  for the caller on their current call, a team lead for their team's callers; audited.
- `PATCH /api/customers/{id}` edits it (same rule); audited with the fields changed.
Quality inspectors have no need for customer records and get 403.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from app.audit import service as audit
from app.auth.models import RoleName
from app.auth.service import require_role
from app.customers import history, service
from app.customers.models import Customer
from app.customers.numbers import normalise
from app.customers.schemas import CustomerDetail, CustomerOut, CustomerPatch, phone_fields
from app.clock import Clock
from app.deps import ClockDep, CurrentUser, SessionDep, SettingsDep
from app.desk import scope
from app.errors import AppError, Conflict, Forbidden, NotFound

router = APIRouter(prefix="/api/customers", tags=["customers"])
USERS = (RoleName.agent, RoleName.team_lead, RoleName.manager)


class NotANumber(AppError):
    status_code = 422
    error_id = "not-a-number"
    message = "not a phone number (e.g. 13800138000, 010-12345678, +8613800138000)"


class NumberTaken(Conflict):
    error_id = "number-taken"
    message = "another customer has that number"


def customer_out(customer: Customer, *, full: bool) -> dict:
    return {"id": customer.id, **phone_fields(customer.phone, full=full), "name": customer.name,
            "address": customer.address, "important": customer.important,
            "preferred_language": customer.preferred_language, "notes": customer.notes,
            "created_at": customer.created_at, "updated_at": customer.updated_at}


async def _allowed(clock: Clock, session, principal, customer_id: uuid.UUID):
    require_role(principal, *USERS)
    now = clock.now()
    via = await scope.may_see_customer(session=session, principal=principal,
                                       customer_id=customer_id, now=now)
    if via is False:
        raise Forbidden("this customer is not on one of your calls")
    return now, (via if isinstance(via, uuid.UUID) else None)


@router.get("", response_model=CustomerOut)
async def search(phone: Annotated[str, Query(max_length=40)], clock: ClockDep,
                 principal: CurrentUser, session: SessionDep) -> CustomerOut:
    """By the full number only: no partial matches, so the archive cannot be browsed (R20)."""
    require_role(principal, *USERS)
    e164 = normalise(phone)
    if e164 is None:
        raise NotANumber()
    customer = await service.by_phone(session=session, number=e164)
    if customer is None:
        raise NotFound("no customer with that number")
    audit.record(session=session, principal=principal, at=clock.now(),
                 action="view", entity="customer", entity_id=customer.id, reason="search")
    await session.commit()
    return CustomerOut(**customer_out(customer, full=True))


@router.get("/{customer_id}", response_model=CustomerDetail)
async def get_customer(customer_id: uuid.UUID, clock: ClockDep, principal: CurrentUser,
                       session: SessionDep, settings: SettingsDep) -> CustomerDetail:
    require_role(principal, *USERS)  # before the look-up: no existence check for other roles
    customer = await service.get(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound("no such customer")
    now, call_id = await _allowed(clock, session, principal, customer_id)
    calls = await history.recent_calls(session=session, customer_id=customer.id,
                                       limit=max(settings.screen_pop_calls, 20))
    complaints = await history.open_complaints(session=session, customer_id=customer.id,
                                               phone=customer.phone, now=now)
    audit.record(session=session, principal=principal, at=now, action="view", entity="customer",
                 entity_id=customer.id, reason="call" if call_id else "record", call_id=call_id)
    await session.commit()
    return CustomerDetail(**customer_out(customer, full=True), calls=calls,
                          open_complaints=complaints)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def patch_customer(customer_id: uuid.UUID, body: CustomerPatch, clock: ClockDep,
                         principal: CurrentUser, session: SessionDep) -> CustomerOut:
    require_role(principal, *USERS)
    customer = await service.get(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound("no such customer")
    now, call_id = await _allowed(clock, session, principal, customer_id)
    changes = body.model_dump(exclude_unset=True)
    if "important" in changes and principal.role is RoleName.agent:
        raise Forbidden("only team leads and managers mark important customers (R11)")
    changes = {k: v for k, v in changes.items() if v is not None or k == "preferred_language"}
    try:  # a number another customer has fails at the flush in update, or at the commit
        await service.update(session=session, customer=customer, changes=changes)
        audit.record(session=session, principal=principal, at=now, action="update",
                     entity="customer", entity_id=customer.id, reason="edit", call_id=call_id,
                     detail={"fields": sorted(changes)})
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise NumberTaken() from exc
    await session.refresh(customer)
    return CustomerOut(**customer_out(customer, full=True))
