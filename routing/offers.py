"""Offers in Postgres: one row per offer of a call to an agent, with its three-ring figures (R1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from routing.models import OfferRow


async def create(*, session: AsyncSession, offer_id: uuid.UUID, call_id: uuid.UUID,
                 agent_id: uuid.UUID, queue: str, channel_id: str, offered_at: datetime) -> None:
    session.add(OfferRow(id=offer_id, call_id=call_id, agent_id=agent_id, queue=queue,
                         channel_id=channel_id, offered_at=offered_at))


async def update_offer(*, session: AsyncSession, offer_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(OfferRow).where(OfferRow.id == offer_id).values(**values))


async def of_call(*, session: AsyncSession, call_id: uuid.UUID) -> list[OfferRow]:
    return list(await session.scalars(select(OfferRow).where(OfferRow.call_id == call_id)
                                      .order_by(OfferRow.offered_at)))


async def agent_of(*, session: AsyncSession, offer_id: uuid.UUID) -> uuid.UUID | None:
    """The agent an offer rang (after a restart: who is on the leg `agent-<offer id>`)."""
    row = await session.get(OfferRow, offer_id)
    return row.agent_id if row is not None else None
