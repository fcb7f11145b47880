"""A customer's service history (R14): their last calls with what they were about, and their
open complaints with deadlines. The screen pop and the customer page both read it from here."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import service as calls
from app.complaints.models import OPEN_STATUSES, Complaint
from app.customers.schemas import ComplaintBrief, PastCall


async def recent_calls(*, session: AsyncSession, customer_id: uuid.UUID, limit: int,
                       exclude: uuid.UUID | None = None) -> list[PastCall]:
    rows = await calls.of_customer(session=session, customer_id=customer_id, limit=limit,
                                   exclude=exclude)
    return [PastCall(id=c.id, started_at=c.started_at, queue=c.queue, agent_name=name,
                     end_reason=c.end_reason, disposition=c.disposition, notes=c.notes or "")
            for c, name in rows]


async def open_complaints(*, session: AsyncSession, customer_id: uuid.UUID | None,
                          phone: str | None, now: datetime) -> list[ComplaintBrief]:
    """Open complaints of this customer, by record or by the number they were filed under."""
    matches = [Complaint.customer_id == customer_id] if customer_id else []
    if phone:
        matches.append(Complaint.customer_number == phone)
    if not matches:
        return []
    rows = await session.scalars(select(Complaint).where(
        or_(*matches), Complaint.status.in_(OPEN_STATUSES)).order_by(Complaint.created_at.desc()))
    return [ComplaintBrief.of(c, now) for c in rows]
