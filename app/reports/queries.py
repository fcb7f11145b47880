"""The report figures computed in Postgres, exactly as `definitions.py` defines them (the db
tests check the two agree on the same calls). Time ranges are half-open [since, until) on the
call's start; buckets are taken in the centre's time zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Call
from app.reports.definitions import Summary, ratio
from routing.models import AgentRow, AgentStateChange, OfferRow, QueueRow

Bucket = Literal["hour", "day", "week"]


@dataclass(frozen=True)
class Filters:
    since: datetime
    until: datetime
    queue: str | None = None
    call_type: str | None = None


def call_type_expr() -> Any:
    """R18's call type: outbound calls are `outbound`; otherwise what the agent recorded (R6),
    else the type of the queue the call waited in."""
    return case((Call.direction == "outbound", literal("outbound")),
                else_=func.coalesce(Call.disposition, QueueRow.call_type))


def _scoped(query: Select, f: Filters) -> Select:
    query = query.select_from(Call).outerjoin(QueueRow, QueueRow.name == Call.queue).where(
        Call.started_at >= f.since, Call.started_at < f.until)
    if f.queue is not None:
        query = query.where(Call.queue == f.queue)
    if f.call_type is not None:
        query = query.where(call_type_expr() == f.call_type)
    return query


def _epoch(a: Any, b: Any) -> Any:
    return func.extract("epoch", b - a)


def _call_figures(threshold: float, short: float) -> list[Any]:
    offered = Call.enqueued_at.is_not(None)
    answered = and_(offered, Call.connected_at.is_not(None))
    abandoned = and_(offered, Call.connected_at.is_(None), Call.end_reason == "abandoned_in_queue")
    wait = _epoch(Call.enqueued_at, Call.connected_at)
    return [
        func.count().label("calls"),
        func.count().filter(offered).label("offered"),
        func.count().filter(answered).label("answered"),
        func.count().filter(abandoned).label("abandoned"),
        func.count().filter(and_(abandoned, Call.ended_at.is_not(None),
                                 _epoch(Call.enqueued_at, Call.ended_at) < short)).label("short"),
        func.count().filter(Call.end_reason == "abandoned_in_ivr").label("in_ivr"),
        func.count().filter(and_(answered, wait <= threshold)).label("in_threshold"),
        func.avg(wait).filter(answered).label("asa"),
        func.avg(_epoch(Call.connected_at, Call.ended_at)).filter(
            and_(answered, Call.ended_at.is_not(None))).label("talk"),
    ]


async def summary(*, session: AsyncSession, f: Filters, threshold_seconds: float,
                  short_abandon_seconds: float, ring_limit_seconds: float) -> Summary:
    row = (await session.execute(_scoped(select(*_call_figures(
        threshold_seconds, short_abandon_seconds)), f))).one()
    calls_in_scope = _scoped(select(Call.id), f).subquery()
    offers = (await session.execute(
        select(func.count().filter(OfferRow.outcome == "answered"),
               func.count().filter(and_(OfferRow.outcome == "answered",
                                        OfferRow.ring_seconds <= ring_limit_seconds)),
               func.count().filter(OfferRow.outcome == "no_answer"))
        .where(OfferRow.call_id.in_(select(calls_in_scope.c.id))))).one()
    return Summary(
        calls=row.calls, offered=row.offered, answered=row.answered, abandoned=row.abandoned,
        short_abandoned=row.short, abandoned_in_ivr=row.in_ivr,
        answered_in_threshold=row.in_threshold,
        abandon_rate=ratio(row.abandoned - row.short, row.offered - row.short),
        service_level=ratio(row.in_threshold, row.answered + row.abandoned - row.short),
        asa_seconds=float(row.asa) if row.asa is not None else None,
        average_talk_seconds=float(row.talk) if row.talk is not None else None,
        offers_answered=offers[0], offers_answered_in_limit=offers[1], offers_missed=offers[2],
        three_ring_compliance=ratio(offers[1], offers[0]))


async def volume(*, session: AsyncSession, f: Filters, bucket: Bucket, zone: str,
                 threshold_seconds: float, short_abandon_seconds: float) -> list[dict[str, Any]]:
    """Per hour, day or ISO week (Monday) of the call's start in the centre's time zone."""
    local = func.timezone(zone, Call.started_at)
    start = func.date_trunc(bucket, local).label("bucket")
    rows = (await session.execute(_scoped(select(start, *_call_figures(
        threshold_seconds, short_abandon_seconds)), f).group_by(start).order_by(start))).all()
    out = []
    for r in rows:
        out.append({
            "bucket": r.bucket.isoformat(), "calls": r.calls, "offered": r.offered,
            "answered": r.answered, "abandoned": r.abandoned, "short_abandoned": r.short,
            "abandoned_in_ivr": r.in_ivr,
            "abandon_rate": ratio(r.abandoned - r.short, r.offered - r.short),
            "service_level": ratio(r.in_threshold, r.answered + r.abandoned - r.short),
            "asa_seconds": float(r.asa) if r.asa is not None else None})
    return out


async def by_call_type(*, session: AsyncSession, f: Filters) -> dict[str, int]:
    """R18: calls per type (consultation, inquiry, complaint, other, outbound; `unknown` when
    neither the agent nor a queue said)."""
    kind = func.coalesce(call_type_expr(), literal("unknown")).label("kind")
    rows = (await session.execute(_scoped(select(kind, func.count()), f).group_by(kind))).all()
    return {k: n for k, n in rows}


async def agents(*, session: AsyncSession, f: Filters, ring_limit_seconds: float) -> list[dict]:
    """Per agent: offers, answered, missed (R1), answered within the ring limit, talk time;
    occupancy = on call / (on call + ready) from their state changes in the range (R19)."""
    calls_in_scope = _scoped(select(Call.id), f).subquery()
    offer_rows = (await session.execute(
        select(OfferRow.agent_id, func.count(),
               func.count().filter(OfferRow.outcome == "answered"),
               func.count().filter(OfferRow.outcome == "no_answer"),
               func.count().filter(and_(OfferRow.outcome == "answered",
                                        OfferRow.ring_seconds <= ring_limit_seconds)))
        .where(OfferRow.call_id.in_(select(calls_in_scope.c.id)))
        .group_by(OfferRow.agent_id))).all()
    talk_rows = dict((await session.execute(_scoped(
        select(Call.agent_id, func.sum(_epoch(Call.connected_at, Call.ended_at))), f)
        .where(Call.connected_at.is_not(None), Call.ended_at.is_not(None))
        .group_by(Call.agent_id))).all())
    occupancy = await state_seconds(session=session, since=f.since, until=f.until)
    names = dict((await session.execute(select(AgentRow.id, AgentRow.name))).all())
    ids = {r[0] for r in offer_rows} | set(occupancy)
    by_id = {r[0]: r for r in offer_rows}
    out = []
    for agent_id in sorted(ids, key=lambda a: names.get(a, "")):
        r = by_id.get(agent_id)
        states = occupancy.get(agent_id, {})
        on_call, ready = states.get("on_call", 0.0), states.get("ready", 0.0)
        out.append({
            "agent_id": str(agent_id), "name": names.get(agent_id, ""),
            "offers": r[1] if r else 0, "answered": r[2] if r else 0,
            "missed": r[3] if r else 0, "answered_in_limit": r[4] if r else 0,
            "three_ring_compliance": ratio(r[4], r[2]) if r else None,
            "talk_seconds": float(talk_rows.get(agent_id) or 0.0),
            "seconds_by_state": {k: round(v, 3) for k, v in sorted(states.items())},
            "occupancy": ratio(on_call, on_call + ready)})
    return out


async def state_seconds(*, session: AsyncSession, since: datetime,
                        until: datetime) -> dict[uuid.UUID, dict[str, float]]:
    """Seconds each agent spent in each state within [since, until): every state change
    lasts until the agent's next one (or `until`), clipped to the range; the state an agent
    was in at `since` counts from `since`."""
    nxt = func.lead(AgentStateChange.at).over(partition_by=AgentStateChange.agent_id,
                                              order_by=(AgentStateChange.at, AgentStateChange.id))
    spans = select(AgentStateChange.agent_id, AgentStateChange.to_state.label("state"),
                   AgentStateChange.at.label("start"), nxt.label("end")).where(
        AgentStateChange.at < until).subquery()
    start = func.greatest(spans.c.start, since)
    end = func.least(func.coalesce(spans.c.end, until), until)
    rows = (await session.execute(
        select(spans.c.agent_id, spans.c.state, func.sum(_epoch(start, end)))
        .where(func.coalesce(spans.c.end, until) > since, end > start)
        .group_by(spans.c.agent_id, spans.c.state))).all()
    out: dict[uuid.UUID, dict[str, float]] = {}
    for agent_id, state, seconds in rows:
        out.setdefault(agent_id, {})[state] = float(seconds)
    return out


async def abandoned(*, session: AsyncSession, f: Filters, limit: int) -> list[Call]:
    """The abandoned calls themselves, newest first: whom to call back (R8)."""
    query = _scoped(select(Call), f).where(Call.end_reason == "abandoned_in_queue").order_by(
        Call.started_at.desc()).limit(limit)
    return list(await session.scalars(query))
