"""Building the screen pop (R3, R14) for one offer: the caller's record, the path they took
through the menu, their last calls with dispositions and notes, and open complaints with their
deadlines. Built while the agent's phone is being dialled, so that it is ready to send the
moment the phone rings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.customers import history
from app.customers.models import Customer
from app.customers.numbers import national, normalise
from app.desk.messages import Caller, IvrStep, ScreenPop
from ivr import service as ivr_store


async def build(*, session: AsyncSession, offer_id: uuid.UUID, call_id: uuid.UUID, kind: str,
                queue: str | None, caller_number: str | None, customer_id: uuid.UUID | None,
                language: str, enqueued_at: datetime | None, now: datetime,
                ring_limit_seconds: float, calls: int) -> ScreenPop:
    customer = await session.get(Customer, customer_id) if customer_id else None
    phone = customer.phone if customer else normalise(caller_number)
    path = await ivr_store.path_of(session=session, call_id=call_id)
    past = (await history.recent_calls(session=session, customer_id=customer.id, limit=calls,
                                       exclude=call_id) if customer else [])
    complaints = await history.open_complaints(session=session,
                                               customer_id=customer.id if customer else None,
                                               phone=phone, now=now)
    waited = (now - enqueued_at).total_seconds() if enqueued_at else 0.0
    return ScreenPop(
        offer_id=offer_id, call_id=call_id, kind=kind, queue=queue,  # type: ignore[arg-type]
        caller=Caller(number=phone or caller_number,
                      number_national=national(phone) if phone else caller_number,
                      name=customer.name if customer else "",
                      important=bool(customer and customer.important), language=language,
                      customer_id=customer.id if customer else None,
                      address=customer.address if customer else "",
                      notes=customer.notes if customer else ""),
        ivr_path=[IvrStep(node=s.node, input=s.input, outcome=s.outcome) for s in path],
        enqueued_at=enqueued_at, waited_seconds=round(max(waited, 0.0), 3),
        apology_due=waited >= ring_limit_seconds, previous_calls=past,
        open_complaints=complaints)


def at_ring(pop: ScreenPop, *, ringing_at: datetime, ring_limit_seconds: float) -> ScreenPop:
    """The pop as sent: the wait counted to the first ring, and whether to apologise (R1)."""
    waited = ((ringing_at - pop.enqueued_at).total_seconds() if pop.enqueued_at
              else pop.waited_seconds)
    return pop.model_copy(update={"ringing_at": ringing_at, "waited_seconds": round(waited, 3),
                                  "apology_due": pop.apology_due or waited >= ring_limit_seconds})
