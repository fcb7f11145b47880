"""Complaint look-ups for the IVR: by number (self-service, R7) and open ones by caller (R6)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints import deadlines
from app.complaints.models import OPEN_STATUSES, Complaint, ComplaintStatus
from app.customers import service as customers


async def by_number(*, session: AsyncSession, number: str) -> Complaint | None:
    return await session.scalar(select(Complaint).where(Complaint.number == number))


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
                 created_by: uuid.UUID | None) -> Complaint:
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
        handling_due_at=deadlines.handling_due(received_at, zone))
    session.add(complaint)
    await session.flush()
    return complaint
