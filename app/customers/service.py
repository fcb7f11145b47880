"""The customer archive (R14): find a caller by any spelling of their number, create them on
their first call, read and edit their record, and their history (calls and complaints)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer
from app.customers.numbers import normalise

IMPORTANT_PRIORITY = 10  # R11: important customers are served before everyone else

__all__ = ["IMPORTANT_PRIORITY", "by_phone", "get", "match_or_create", "normalise", "priority",
           "update"]


async def by_phone(*, session: AsyncSession, number: str | None) -> Customer | None:
    """The customer with this number, however it is written."""
    phone = normalise(number)
    if phone is None:
        return None
    return await session.scalar(select(Customer).where(Customer.phone == phone))


async def match_or_create(*, session: AsyncSession, number: str | None,
                          language: str | None = None) -> Customer | None:
    """R14: every caller with a real number has a record; the first call creates it. Safe when
    two calls from one number arrive together (the insert does nothing if the row exists)."""
    phone = normalise(number)
    if phone is None:
        return None
    await session.execute(insert(Customer).values(
        id=uuid.uuid4(), phone=phone, name="", address="", important=False,
        preferred_language=language, notes="").on_conflict_do_nothing(index_elements=["phone"]))
    return await session.scalar(select(Customer).where(Customer.phone == phone))


async def get(*, session: AsyncSession, customer_id: uuid.UUID) -> Customer | None:
    return await session.get(Customer, customer_id)


async def update(*, session: AsyncSession, customer: Customer, changes: dict[str, Any]) -> Customer:
    """Apply validated changes (see schemas.CustomerPatch); the number is stored as E.164."""
    for field, value in changes.items():
        setattr(customer, field, value)
    await session.flush()
    return customer


def priority(customer: Customer | None) -> int:
    return IMPORTANT_PRIORITY if customer is not None and customer.important else 0
