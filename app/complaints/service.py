"""Complaint look-ups for the IVR: by number (self-service, R7) and open ones by caller (R6)."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.complaints.models import OPEN_STATUSES, Complaint
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
