"""The call log in Postgres: plain functions, the session passed in, writes idempotent per channel.
Other domains read and change calls through these functions, never the `Call` model itself."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.calls.models import Call, CallEvent
from app.calls.state import CallState, Trigger
from routing.models import AgentRow


async def open_call(*, session: AsyncSession, channel_id: str, caller_number: str | None,
                    caller_name: str | None, dialed_number: str | None, language: str,
                    started_at: datetime, direction: str = "inbound") -> tuple[Call, int]:
    """Create the call for a channel, or return the one already there; with its last timeline seq.

    Idempotent per channel: a StasisStart seen twice (after a reconnect or restart) opens one call.
    """
    values = dict(id=uuid.uuid4(), channel_id=channel_id, direction=direction,
                  caller_number=caller_number or None, caller_name=caller_name or None,
                  dialed_number=dialed_number or None, language=language,
                  state=CallState.ringing, started_at=started_at, last_seen_at=started_at)
    new = await session.scalar(
        insert(Call).values(**values).on_conflict_do_nothing(index_elements=["channel_id"])
        .returning(Call))
    if new is not None:  # a new call: its timeline starts at 0 (two statements, #9)
        await session.execute(insert(CallEvent).values(
            call_id=new.id, seq=0, at=started_at, from_state="", trigger=Trigger.arrived,
            to_state=CallState.ringing,
            detail={"caller_number": caller_number, "dialed_number": dialed_number}))
        return new, 0
    call = await session.scalar(select(Call).where(Call.channel_id == channel_id))
    assert call is not None
    return call, await last_seq(session=session, call_id=call.id)


async def open_outbound(*, session: AsyncSession, call_id: uuid.UUID, channel_id: str,
                        number: str | None, name: str | None, dialed: str, language: str,
                        agent_id: uuid.UUID, customer_id: uuid.UUID | None, started_at: datetime,
                        state: str, trigger: str, detail: dict[str, Any]) -> None:
    """An outbound call (a call-back, R17) with the first row of its timeline; later rows go
    through the call log like an inbound call's."""
    session.add(Call(id=call_id, channel_id=channel_id, direction="outbound",
                     caller_number=number, caller_name=name, dialed_number=dialed,
                     language=language, state=state, started_at=started_at,
                     last_seen_at=started_at, queue=None, agent_id=agent_id,
                     customer_id=customer_id))
    await session.flush()
    session.add(CallEvent(call_id=call_id, seq=0, at=started_at, from_state="", trigger=trigger,
                          to_state=state, detail=detail))
    await session.flush()


async def record_transition(*, session: AsyncSession, call_id: uuid.UUID, seq: int, at: datetime,
                            from_state: str, trigger: str, to_state: str,
                            detail: dict[str, Any] | None = None, **updates: Any) -> None:
    """Append one timeline row and move the call to its new state (a row already there is kept)."""
    # One statement (#9): the timeline row goes in as a data-modifying CTE of the update.
    event = (insert(CallEvent).values(call_id=call_id, seq=seq, at=at, from_state=from_state,
                                      trigger=trigger, to_state=to_state, detail=detail or {})
             .on_conflict_do_nothing(constraint="uq_call_events_call_id_seq").cte("event"))
    await session.execute(
        update(Call).where(Call.id == call_id)
        .values(state=to_state, last_seen_at=at, **updates).add_cte(event))


async def update_call(*, session: AsyncSession, call_id: uuid.UUID, **values: Any) -> None:
    """Change fields of a call that are not its state (e.g. the language chosen in the menu)."""
    await session.execute(update(Call).where(Call.id == call_id).values(**values))


async def open_calls(*, session: AsyncSession) -> list[Call]:
    """Calls that have not ended (what reconciliation checks against Asterisk)."""
    return list(await session.scalars(select(Call).where(Call.ended_at.is_(None))))


async def last_seq(*, session: AsyncSession, call_id: uuid.UUID) -> int:
    seq = await session.scalar(select(func.max(CallEvent.seq)).where(CallEvent.call_id == call_id))
    return seq or 0


async def mark_open_calls_seen(*, session: AsyncSession, at: datetime) -> int:
    """Stamp every open call as last seen alive at `at` (when the event stream dropped)."""
    result = await session.execute(
        update(Call).where(Call.ended_at.is_(None), Call.last_seen_at < at).values(last_seen_at=at))
    return result.rowcount or 0


async def get(*, session: AsyncSession, call_id: uuid.UUID) -> Call | None:
    """One call with its timeline."""
    return await session.scalar(
        select(Call).where(Call.id == call_id).options(selectinload(Call.events))
        .execution_options(populate_existing=True))


async def list_calls(*, session: AsyncSession, since: datetime | None, until: datetime | None,
                     limit: int, after: tuple[datetime, uuid.UUID] | None,
                     visible: Any = None) -> list[Call]:
    """Newest first; `after` is the (started_at, id) of the last call of the previous page;
    `visible` a condition limiting the calls to those the reader may see (R20)."""
    query = select(Call).order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)
    if visible is not None:
        query = query.where(visible)
    if since is not None:
        query = query.where(Call.started_at >= since)
    if until is not None:
        query = query.where(Call.started_at < until)
    if after is not None:
        started, ident = after
        query = query.where(or_(Call.started_at < started,
                                and_(Call.started_at == started, Call.id < ident)))
    return list(await session.scalars(query))


async def by_id(*, session: AsyncSession, call_id: uuid.UUID) -> Call | None:
    """One call, without its timeline."""
    return await session.get(Call, call_id)


async def discard(*, session: AsyncSession, call_id: uuid.UUID) -> None:
    """Delete a call that never took place (an outbound attempt that could not start)."""
    call = await session.get(Call, call_id)
    if call is not None:
        await session.delete(call)


async def languages(*, session: AsyncSession, call_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The language each of these calls was in, by call id."""
    if not call_ids:
        return {}
    return dict((await session.execute(
        select(Call.id, Call.language).where(Call.id.in_(call_ids)))).all())


async def of_customer(*, session: AsyncSession, customer_id: uuid.UUID, limit: int,
                      exclude: uuid.UUID | None = None) -> list[tuple[Call, str | None]]:
    """A customer's latest calls, newest first, each with its agent's name (R14)."""
    query = (select(Call, AgentRow.name).outerjoin(AgentRow, AgentRow.id == Call.agent_id)
             .where(Call.customer_id == customer_id)
             .order_by(Call.started_at.desc()).limit(limit))
    if exclude is not None:
        query = query.where(Call.id != exclude)
    return [(call, name) for call, name in (await session.execute(query)).all()]


async def scores(*, session: AsyncSession, start: datetime,
                 end: datetime) -> list[tuple[uuid.UUID, str | None, int]]:
    """(call id, queue, score) of every satisfaction score given in [start, end) (R17)."""
    return [tuple(row) for row in (await session.execute(
        select(Call.id, Call.queue, Call.satisfaction)
        .where(Call.satisfaction.is_not(None), Call.satisfaction_at >= start,
               Call.satisfaction_at < end))).all()]


def ended_ids() -> Select:
    """The ids of the calls that have ended, to filter another domain's query by."""
    return select(Call.id).where(Call.ended_at.is_not(None))
