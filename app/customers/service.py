"""Finding a caller in the customer archive."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.customers.models import Customer

IMPORTANT_PRIORITY = 10  # R11: important customers are served before everyone else


def normalise(number: str | None) -> str | None:
    """Digits only, without China's country code (+86 / 0086): 13800138000, 01012345678."""
    if not number:
        return None
    digits = re.sub(r"\D", "", number)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 10:
            digits = digits[len(prefix):]
            break
    return digits or None


async def by_phone(*, session: AsyncSession, number: str | None) -> Customer | None:
    phone = normalise(number)
    if phone is None:
        return None
    return await session.scalar(select(Customer).where(Customer.phone == phone))


def priority(customer: Customer | None) -> int:
    return IMPORTANT_PRIORITY if customer is not None and customer.important else 0
