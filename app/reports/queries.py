"""The report figures from Postgres, exactly as `definitions.py` defines them.

Every report is a set of `Totals` (sums that add up) per key — nothing, a local hour/day/week,
a call type, an agent — made of two parts:
- the hourly rollups (`report_hours`, `report_agent_hours`) for the whole UTC hours of the
  range that the last refresh covered (`rollup.py`), and
- the raw calls, offers and agent state changes for the rest: the partial hours at the range's
  edges and the hours since the last refresh.
So a month is about 720 rollup rows per queue and call type plus at most a few hours of raw
rows, whatever the number of calls. Without a usable rollup (never refreshed, other
parameters, a time zone whose offset is not whole hours) everything is read raw, with the same
result. Ranges are half-open [since, until) on the call's start."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, case, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.calls.models import Call
from app.reports.definitions import (ABANDONED, DECIDED, Summary, Totals,
                                     occupancy as occupancy_of, ratio)
from app.reports.models import (ReportAgentDay, ReportAgentHour, ReportHour, ReportPresence,
                                RollupState)
from routing.models import AgentRow, AgentStateChange, OfferRow, QueueRow

Bucket = Literal["hour", "day", "week"]
HOUR = timedelta(hours=1)
STATES = ("ready", "ringing", "on_call", "wrap_up", "paused")


@dataclass(frozen=True)
class Filters:
    since: datetime
    until: datetime
    queue: str | None = None
    call_type: str | None = None


@dataclass(frozen=True)
class Params:
    """What the figures depend on besides the calls (settings)."""

    threshold_seconds: float
    short_abandon_seconds: float
    ring_limit_seconds: float


def call_type_expr() -> Any:
    """R18's call type: outbound calls are `outbound`; otherwise what the agent recorded (R6),
    else the type of the queue the call waited in; `unknown` when neither says."""
    return func.coalesce(case((Call.direction == "outbound", literal("outbound")),
                              else_=func.coalesce(Call.disposition, QueueRow.call_type)),
                         literal("unknown"))


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


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


# The rollups' rows are half-hours (staffing works in 30-minute intervals, #18).
SLOT = timedelta(minutes=30)
ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday, midnight UTC: slots start at :00 and :30


def floor_slot(at: datetime) -> datetime:
    return at - (at - ORIGIN) % SLOT


def ceil_slot(at: datetime) -> datetime:
    floor = floor_slot(at)
    return floor if floor == at else floor + SLOT


def slot_of(column: Any) -> Any:
    """The half-hour a time falls in (SQL)."""
    return func.date_bin(SLOT, column, ORIGIN)


# -- raw ---------------------------------------------------------------------------------------
def _wrap_ups() -> Any:
    """The call's wrap-up seconds (lateral, per call): each `wrap_up` change naming the call
    lasts until its agent's next change; one still running is not counted yet."""
    w, n = aliased(AgentStateChange), aliased(AgentStateChange)
    nxt = (select(n.at).where(n.agent_id == w.agent_id, n.at >= w.at,
                              tuple_(n.at, n.id) > tuple_(w.at, w.id))
           .order_by(n.at, n.id).limit(1).scalar_subquery())
    return (select(func.sum(_epoch(w.at, nxt)).label("seconds"))
            .where(w.call_id == Call.id, w.to_state == "wrap_up").lateral())


def _first_offer() -> Any:
    """The call's first offer (the first phone rung for it)."""
    return (select(OfferRow.outcome.label("outcome"), OfferRow.ring_seconds.label("ring_seconds"))
            .where(OfferRow.call_id == Call.id).order_by(OfferRow.offered_at, OfferRow.id)
            .limit(1).lateral())


def _threshold(p: Params) -> Any:
    """The queue's own service-level threshold, else the parameter."""
    return func.coalesce(QueueRow.service_level_seconds, p.threshold_seconds)


async def raw_totals(*, session: AsyncSession, f: Filters, key: list[Any],
                     p: Params) -> dict[tuple, Totals]:
    """Totals per key straight from calls and offers (definitions.totals_of in SQL)."""
    offered = Call.enqueued_at.is_not(None)
    answered = and_(offered, Call.connected_at.is_not(None))
    abandoned = and_(offered, Call.connected_at.is_(None), Call.end_reason.in_(ABANDONED))
    talked = and_(answered, Call.ended_at.is_not(None))
    wait = _epoch(Call.enqueued_at, Call.connected_at)
    abandon_wait = _epoch(Call.enqueued_at, Call.ended_at)
    first, wraps = _first_offer(), _wrap_ups()
    first_decided = and_(offered, first.c.outcome.in_(DECIDED))
    calls = _scoped(select(*key,
        func.count(),
        func.count().filter(offered),
        func.count().filter(answered),
        func.count().filter(abandoned),
        func.count().filter(and_(abandoned, Call.ended_at.is_not(None),
                                 abandon_wait < p.short_abandon_seconds)),
        func.count().filter(Call.end_reason == "abandoned_in_ivr"),
        func.count().filter(and_(answered, wait <= _threshold(p))),
        func.coalesce(func.sum(wait).filter(answered), 0.0),
        func.coalesce(func.sum(_epoch(Call.connected_at, Call.ended_at)).filter(talked), 0.0),
        func.count().filter(talked),
        func.count().filter(first_decided),
        func.count().filter(and_(first_decided, first.c.outcome == "answered",
                                 first.c.ring_seconds <= p.ring_limit_seconds)),
        func.count().filter(and_(answered, wait <= p.ring_limit_seconds)),
        func.coalesce(func.sum(wraps.c.seconds).filter(talked), 0.0),
        func.coalesce(func.sum(abandon_wait).filter(and_(abandoned, Call.ended_at.is_not(None))),
                      0.0)), f).outerjoin(first, literal(True)).outerjoin(
        wraps, literal(True))
    offers = _scoped(select(*key,
        func.count().filter(OfferRow.outcome == "answered"),
        func.count().filter(and_(OfferRow.outcome == "answered",
                                 OfferRow.ring_seconds <= p.ring_limit_seconds)),
        func.count().filter(OfferRow.outcome == "no_answer"),
        func.count().filter(OfferRow.outcome.in_(DECIDED))), f).join(
        OfferRow, OfferRow.call_id == Call.id)
    if key:
        calls, offers = calls.group_by(*key), offers.group_by(*key)
    out: dict[tuple, Totals] = {}
    n = len(key)
    for row in (await session.execute(calls)).all():
        k, v = tuple(row[:n]), row[n:]
        if v[0] == 0:
            continue
        out[k] = Totals(calls=v[0], offered=v[1], answered=v[2], abandoned=v[3],
                        short_abandoned=v[4], abandoned_in_ivr=v[5], answered_in_threshold=v[6],
                        wait_sum=float(v[7]), talk_sum=float(v[8]), talked=v[9],
                        first_offers=v[10], first_offers_in_limit=v[11],
                        answered_in_ring_limit=v[12], wrap_sum=float(v[13]),
                        abandon_wait_sum=float(v[14]))
    for row in (await session.execute(offers)).all():
        k, v = tuple(row[:n]), row[n:]
        t = out.setdefault(k, Totals())
        t.offers_answered, t.offers_answered_in_limit, t.offers_missed, t.offers_decided = v
    return out


# -- rollups -----------------------------------------------------------------------------------
TOTALS_FIELDS = [f.name for f in fields(Totals)]


async def queue_thresholds(*, session: AsyncSession) -> dict[str, float]:
    """The queues that set their own service-level threshold (#18): name -> seconds."""
    rows = await session.execute(select(QueueRow.name, QueueRow.service_level_seconds).where(
        QueueRow.service_level_seconds.is_not(None)))
    return {name: float(seconds) for name, seconds in rows.all()}


async def usable_rollup(*, session: AsyncSession, p: Params) -> datetime | None:
    """Until when the rollups hold, if they were made with these parameters and the queues'
    thresholds as they are now."""
    state = await session.get(RollupState, 1)
    if state is None or state.rolled_until is None or (
            state.threshold_seconds, state.short_abandon_seconds, state.ring_limit_seconds) != (
            p.threshold_seconds, p.short_abandon_seconds, p.ring_limit_seconds) or (
            state.queue_thresholds or {}) != await queue_thresholds(session=session):
        return None
    return state.rolled_until


def split(f: Filters, rolled_until: datetime | None,
          zone: ZoneInfo | None = None) -> tuple[tuple[datetime, datetime] | None, list[Filters]]:
    """The whole half-hours of the range that the rollups cover, and the raw rest."""
    if rolled_until is None or (zone is not None and any(
            (f.since + timedelta(days=d)).astimezone(zone).utcoffset().seconds % 1800  # type: ignore[union-attr]
            for d in range(0, max((f.until - f.since).days, 0) + 1, 28))):
        return None, [f]
    h0, h1 = ceil_slot(f.since), min(floor_slot(f.until), rolled_until)
    if h0 >= h1:
        return None, [f]
    rest = [Filters(a, b, f.queue, f.call_type) for a, b in ((f.since, h0), (h1, f.until)) if a < b]
    return (h0, h1), rest


async def rolled_totals(*, session: AsyncSession, hours: tuple[datetime, datetime], f: Filters,
                        key: list[Any]) -> dict[tuple, Totals]:
    query = select(*key, *(func.sum(getattr(ReportHour, name)) for name in TOTALS_FIELDS)).where(
        ReportHour.hour >= hours[0], ReportHour.hour < hours[1])
    if f.queue is not None:
        query = query.where(ReportHour.queue == f.queue)
    if f.call_type is not None:
        query = query.where(ReportHour.call_type == f.call_type)
    if key:
        query = query.group_by(*key)
    out = {}
    n = len(key)
    for row in (await session.execute(query)).all():
        if row[n] is None:
            continue
        out[tuple(row[:n])] = Totals(**{name: (float(v) if isinstance(getattr(Totals(), name), float)
                                               else int(v))
                                        for name, v in zip(TOTALS_FIELDS, row[n:], strict=True)})
    return out


def _merge(*parts: dict[tuple, Totals]) -> dict[tuple, Totals]:
    out: dict[tuple, Totals] = {}
    for part in parts:
        for k, t in part.items():
            out.setdefault(k, Totals()).add(t)
    return out


async def totals(*, session: AsyncSession, f: Filters, p: Params, raw_key: list[Any],
                 rolled_key: list[Any], zone: ZoneInfo | None = None) -> dict[tuple, Totals]:
    hours, rest = split(f, await usable_rollup(session=session, p=p), zone)
    parts = [await raw_totals(session=session, f=r, key=raw_key, p=p) for r in rest]
    if hours is not None:
        parts.append(await rolled_totals(session=session, hours=hours, f=f, key=rolled_key))
    return _merge(*parts)


# -- the reports -------------------------------------------------------------------------------
async def summary(*, session: AsyncSession, f: Filters, threshold_seconds: float,
                  short_abandon_seconds: float, ring_limit_seconds: float) -> Summary:
    p = Params(threshold_seconds, short_abandon_seconds, ring_limit_seconds)
    return (await totals(session=session, f=f, p=p, raw_key=[], rolled_key=[])).get(
        (), Totals()).finish()


async def volume(*, session: AsyncSession, f: Filters, bucket: Bucket, zone: str,
                 threshold_seconds: float, short_abandon_seconds: float,
                 ring_limit_seconds: float = 15.0) -> list[dict[str, Any]]:
    """Per hour, day or ISO week (from Monday) of the call's start in the centre's time zone."""
    p = Params(threshold_seconds, short_abandon_seconds, ring_limit_seconds)
    raw = func.date_trunc(bucket, func.timezone(zone, Call.started_at))
    rolled = func.date_trunc(bucket, func.timezone(zone, ReportHour.hour))
    by = await totals(session=session, f=f, p=p, raw_key=[raw], rolled_key=[rolled],
                      zone=ZoneInfo(zone))
    out = []
    for (at,), t in sorted(by.items()):
        s = t.finish()
        out.append({"bucket": at.isoformat(), "calls": s.calls, "offered": s.offered,
                    "answered": s.answered, "abandoned": s.abandoned,
                    "short_abandoned": s.short_abandoned, "abandoned_in_ivr": s.abandoned_in_ivr,
                    "abandon_rate": s.abandon_rate, "service_level": s.service_level,
                    "asa_seconds": s.asa_seconds,
                    "three_ring_compliance": s.three_ring_compliance})
    return out


async def by_call_type(*, session: AsyncSession, f: Filters, threshold_seconds: float = 15.0,
                       short_abandon_seconds: float = 5.0,
                       ring_limit_seconds: float = 15.0) -> dict[str, int]:
    """R18: calls per type (consultation, inquiry, complaint, other, outbound, unknown)."""
    p = Params(threshold_seconds, short_abandon_seconds, ring_limit_seconds)
    by = await totals(session=session, f=f, p=p, raw_key=[call_type_expr()],
                      rolled_key=[ReportHour.call_type])
    return {k: t.calls for (k,), t in sorted(by.items())}


@dataclass
class AgentTotals:
    offers: int = 0
    answered: int = 0
    missed: int = 0
    answered_in_limit: int = 0
    talk_seconds: float = 0.0
    seconds: dict[str, float] | None = None
    decided: int = 0  # answered, missed, busy or rejected (definitions.DECIDED)

    def add(self, other: "AgentTotals") -> None:
        self.decided += other.decided
        self.offers += other.offers
        self.answered += other.answered
        self.missed += other.missed
        self.answered_in_limit += other.answered_in_limit
        self.talk_seconds += other.talk_seconds
        mine = self.seconds = self.seconds or {}
        for k, v in (other.seconds or {}).items():
            mine[k] = mine.get(k, 0.0) + v


def _agent_cover(hours: tuple[datetime, datetime]) -> list[tuple[Any, Any, datetime, datetime]]:
    """Whole UTC days from the day rollup, the half-hours around them from the other."""
    h0, h1 = (h.astimezone(UTC) for h in hours)
    d0 = h0 if (h0.hour, h0.minute) == (0, 0) else (h0 + timedelta(days=1)).replace(hour=0,
                                                                                    minute=0)
    d1 = h1.replace(hour=0, minute=0)
    if d0 >= d1:
        return [(ReportAgentHour, ReportAgentHour.hour, h0, h1)]
    out = [(ReportAgentDay, ReportAgentDay.day, d0, d1)]
    out += [(ReportAgentHour, ReportAgentHour.hour, a, b) for a, b in ((h0, d0), (d1, h1)) if a < b]
    return out


async def raw_agent_totals(*, session: AsyncSession, f: Filters,
                           ring_limit_seconds: float) -> dict[uuid.UUID, AgentTotals]:
    out: dict[uuid.UUID, AgentTotals] = {}
    offers = _scoped(select(OfferRow.agent_id, func.count(),
                            func.count().filter(OfferRow.outcome == "answered"),
                            func.count().filter(OfferRow.outcome == "no_answer"),
                            func.count().filter(and_(OfferRow.outcome == "answered",
                                                     OfferRow.ring_seconds <= ring_limit_seconds)),
                            func.count().filter(OfferRow.outcome.in_(DECIDED))),
                     f).join(OfferRow, OfferRow.call_id == Call.id).group_by(OfferRow.agent_id)
    for agent_id, n, answered, missed, in_limit, decided in (await session.execute(offers)).all():
        out[agent_id] = AgentTotals(n, answered, missed, in_limit, decided=decided)
    talk = _scoped(select(Call.agent_id, func.sum(_epoch(Call.connected_at, Call.ended_at))), f
                   ).where(Call.connected_at.is_not(None), Call.ended_at.is_not(None),
                           Call.agent_id.is_not(None)).group_by(Call.agent_id)
    for agent_id, seconds in (await session.execute(talk)).all():
        out.setdefault(agent_id, AgentTotals()).talk_seconds += float(seconds or 0)
    for agent_id, states in (await state_seconds(session=session, since=f.since,
                                                 until=f.until)).items():
        out.setdefault(agent_id, AgentTotals()).seconds = states
    return out


async def agents(*, session: AsyncSession, f: Filters, ring_limit_seconds: float,
                 threshold_seconds: float = 15.0, short_abandon_seconds: float = 5.0) -> list[dict]:
    """Per agent: offers, answered, missed (R1), answered within the ring limit, three-ring
    compliance over their decided offers, talk time; occupancy (definitions.occupancy) from
    their state changes in the range (R19).
    With a queue or call type filter, the offers and talk are that queue's or type's; the
    seconds by state are the agent's whole time."""
    p = Params(threshold_seconds, short_abandon_seconds, ring_limit_seconds)
    filtered = f.queue is not None or f.call_type is not None
    hours, rest = split(f, None if filtered else await usable_rollup(session=session, p=p))
    by: dict[uuid.UUID, AgentTotals] = {}
    for r in rest:
        for agent_id, t in (await raw_agent_totals(session=session, f=r,
                                                   ring_limit_seconds=ring_limit_seconds)).items():
            by.setdefault(agent_id, AgentTotals()).add(t)
    if hours is not None:
        for table, col, a, b in _agent_cover(hours):
            cols = [table.offers, table.answered, table.missed, table.answered_in_limit,
                    table.decided, table.talk_seconds,
                    *(getattr(table, f"seconds_{s}") for s in STATES)]
            rows = (await session.execute(
                select(table.agent_id, *(func.sum(c) for c in cols))
                .where(col >= a, col < b).group_by(table.agent_id))).all()
            for agent_id, offers, answered, missed, in_limit, decided, talk, *secs in rows:
                by.setdefault(agent_id, AgentTotals()).add(AgentTotals(
                    int(offers), int(answered), int(missed), int(in_limit), float(talk),
                    {s: float(v) for s, v in zip(STATES, secs, strict=True) if v},
                    decided=int(decided)))
    names = dict((await session.execute(select(AgentRow.id, AgentRow.name))).all())
    out = []
    for agent_id in sorted(by, key=lambda a: (names.get(a, ""), str(a))):
        t = by[agent_id]
        states = {k: round(v, 3) for k, v in sorted((t.seconds or {}).items()) if v}
        out.append({"agent_id": str(agent_id), "name": names.get(agent_id, ""),
                    "offers": t.offers, "answered": t.answered, "missed": t.missed,
                    "answered_in_limit": t.answered_in_limit, "offers_decided": t.decided,
                    "three_ring_compliance": ratio(t.answered_in_limit, t.decided),
                    "talk_seconds": round(t.talk_seconds, 3), "seconds_by_state": states,
                    "occupancy": occupancy_of(states)})
    return out


def _spans(since: datetime, until: datetime) -> Any:
    """Each agent's states as spans within [since, until): the state they were in at `since`
    (their last change before it) and every change inside, each lasting until the next."""
    last = (select(AgentStateChange.to_state, AgentStateChange.at, AgentStateChange.id)
            .where(AgentStateChange.agent_id == AgentRow.id, AgentStateChange.at < since)
            .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc()).limit(1).lateral())
    before = select(AgentRow.id.label("agent_id"), last.c.to_state, last.c.at,
                    last.c.id).select_from(AgentRow).join(last, literal(True))
    inside = select(AgentStateChange.agent_id, AgentStateChange.to_state, AgentStateChange.at,
                    AgentStateChange.id).where(AgentStateChange.at >= since,
                                               AgentStateChange.at < until)
    changes = before.union_all(inside).subquery()
    nxt = func.lead(changes.c.at).over(partition_by=changes.c.agent_id,
                                       order_by=(changes.c.at, changes.c.id))
    return select(changes.c.agent_id, changes.c.to_state.label("state"),
                  func.greatest(changes.c.at, since).label("start"),
                  func.least(func.coalesce(nxt, until), until).label("end")).subquery()


async def state_seconds(*, session: AsyncSession, since: datetime,
                        until: datetime) -> dict[uuid.UUID, dict[str, float]]:
    """Seconds each agent spent in each state within [since, until): every state change lasts
    until the agent's next one (or `until`); the state an agent was in at `since` counts from
    `since`. Reads only the changes inside the range and each agent's last one before it."""
    spans = _spans(since, until)
    rows = (await session.execute(
        select(spans.c.agent_id, spans.c.state, func.sum(_epoch(spans.c.start, spans.c.end)))
        .where(spans.c.end > spans.c.start)
        .group_by(spans.c.agent_id, spans.c.state))).all()
    out: dict[uuid.UUID, dict[str, float]] = {}
    for agent_id, state, seconds in rows:
        out.setdefault(agent_id, {})[state] = float(seconds)
    return out


async def state_seconds_by_slot(*, session: AsyncSession, since: datetime,
                                until: datetime) -> list[tuple[datetime, uuid.UUID, str, float]]:
    """(UTC half-hour, agent, state, seconds) within [since, until): the spans cut at every
    half-hour."""
    spans = _spans(since, until)
    hours = func.generate_series(slot_of(spans.c.start),
                                 spans.c.end - timedelta(microseconds=1),
                                 SLOT).table_valued("h").render_derived()
    clipped = func.extract("epoch", func.least(spans.c.end, hours.c.h + SLOT)
                           - func.greatest(spans.c.start, hours.c.h))
    rows = await session.execute(
        select(hours.c.h, spans.c.agent_id, spans.c.state, func.sum(clipped))
        .select_from(spans).join(hours, literal(True))
        .where(spans.c.end > spans.c.start, spans.c.state.in_(STATES))
        .group_by(hours.c.h, spans.c.agent_id, spans.c.state))
    return [(h.astimezone(UTC), a, st, float(sec)) for h, a, st, sec in rows.all()]


BUSY = ("ringing", "on_call", "wrap_up")


def in_shift(hour: int, first: int, end: int) -> bool:
    return first <= hour < end if first < end else (hour >= first or hour < end)


async def occupancy(*, session: AsyncSession, f: Filters, p: Params, zone: str,
                    bucket: Literal["hour", "shift"],
                    shifts: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    """R19: busy and idle per local hour, or per shift of a local day: the seconds all agents
    spent in each state, how many agents were signed in, and occupancy (busy / (busy +
    ready), definitions.occupancy). Busy = ringing + on call + wrap-up; idle = ready. Shifts are (name, first hour,
    end hour) of the local day; one that ends past midnight (22-06) counts its small hours
    to the day it began."""
    tz = ZoneInfo(zone)
    hours, rest = split(Filters(f.since, f.until), await usable_rollup(session=session, p=p), tz)
    per_hour: dict[datetime, dict[str, float]] = {}
    agents: dict[datetime, set[uuid.UUID]] = {}

    def add(h: datetime, agent_id: uuid.UUID, state: str, seconds: float) -> None:
        if seconds <= 0:
            return
        d = per_hour.setdefault(h, {})
        d[state] = d.get(state, 0.0) + seconds
        agents.setdefault(h, set()).add(agent_id)

    for r in rest:
        for h, agent_id, state, seconds in await state_seconds_by_slot(
                session=session, since=r.since, until=r.until):
            add(h, agent_id, state, seconds)
    if hours is not None:
        cols = [getattr(ReportAgentHour, f"seconds_{s}") for s in STATES]
        rows = await session.execute(select(ReportAgentHour.hour, ReportAgentHour.agent_id, *cols)
                                     .where(ReportAgentHour.hour >= hours[0],
                                            ReportAgentHour.hour < hours[1]))
        for h, agent_id, *secs in rows.all():
            for state, seconds in zip(STATES, secs, strict=True):
                add(h.astimezone(UTC), agent_id, state, float(seconds))
    buckets: dict[str, dict[str, Any]] = {}
    for h, states in per_hour.items():
        local = h.astimezone(tz)
        if bucket == "hour":
            key = local.strftime("%Y-%m-%dT%H:00")
        else:
            name = next((n for n, a, b in shifts if in_shift(local.hour, a, b)), None)
            if name is None:
                continue
            start = next(a for n, a, b in shifts if n == name)
            day = local.date() - timedelta(days=1) if local.hour < start else local.date()
            key = f"{day.isoformat()} {name}"
        b = buckets.setdefault(key, {"seconds": {}, "agents": set()})
        for state, seconds in states.items():
            b["seconds"][state] = b["seconds"].get(state, 0.0) + seconds
        b["agents"] |= agents[h]
    out = []
    for key in sorted(buckets):
        secs = {k: round(v, 3) for k, v in sorted(buckets[key]["seconds"].items())}
        busy = sum(secs.get(s, 0.0) for s in BUSY)
        out.append({"bucket": key, "seconds_by_state": secs, "busy_seconds": round(busy, 3),
                    "idle_seconds": secs.get("ready", 0.0),
                    "agents_signed_in": len(buckets[key]["agents"]),
                    "occupancy": occupancy_of(secs)})
    return out


async def abandoned(*, session: AsyncSession, f: Filters, limit: int) -> list[Any]:
    """The abandoned calls themselves, newest first: whom to call back (R8)."""
    query = _scoped(select(Call.id, Call.started_at, Call.caller_number, Call.queue,
                           Call.enqueued_at, Call.ended_at), f).where(
        Call.end_reason.in_(ABANDONED)).order_by(Call.started_at.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def complaint_deadlines(*, session: AsyncSession, since: datetime, until: datetime,
                              now: datetime) -> dict[str, Any]:
    """R15 for the complaints received in [since, until): how many met each deadline, missed
    it (done late, or not done and past it) or are still within it; the call-backs' results
    and the complaint call-backs' satisfaction (R17)."""
    from app.complaints.models import Complaint

    def met_missed(done: Any, due: Any, applies: Any = None) -> list[Any]:
        base = [due.is_not(None)] + ([applies] if applies is not None else [])
        return [
            func.count().filter(and_(*base, done.is_not(None), done <= due)),
            func.count().filter(and_(*base, or_(done > due, and_(done.is_(None), due < now)))),
            func.count().filter(and_(*base, done.is_(None), due >= now)),
        ]

    resolved = Complaint.resolved_at.is_not(None)
    row = (await session.execute(select(
        func.count(),
        func.count().filter(Complaint.severity == "general"),
        func.count().filter(Complaint.severity == "major"),
        func.count().filter(Complaint.severity == "crisis"),
        *met_missed(Complaint.dispatched_at, Complaint.dispatch_due_at),
        *met_missed(Complaint.resolved_at, Complaint.handling_due_at),
        *met_missed(Complaint.called_back_at, Complaint.callback_due_at, resolved),
        func.count().filter(Complaint.status == "closed_unreachable"),
        func.count(Complaint.satisfaction), func.avg(Complaint.satisfaction),
    ).where(Complaint.created_at >= since, Complaint.created_at < until))).one()
    deadline = lambda i: {"met": row[i], "missed": row[i + 1], "pending": row[i + 2]}  # noqa: E731
    return {"received": row[0],
            "by_severity": {"general": row[1], "major": row[2], "crisis": row[3]},
            "dispatched_within_60_minutes": deadline(4),
            "handled_within_5_working_days": deadline(7),
            "called_back_within_72_hours": deadline(10),
            "closed_unreachable": row[13],
            "satisfaction": {"answers": row[14],
                             "average": float(row[15]) if row[15] is not None else None}}


# -- staffing (#18, R19) -----------------------------------------------------------------------
WEEK = timedelta(days=7)


def week_start(day: datetime, zone: ZoneInfo) -> datetime:
    """Monday 00:00 local of the week `day` falls in."""
    local = day.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=zone)


async def staffing(*, session: AsyncSession, p: Params, zone: str, week: datetime,
                   now: datetime, weeks: int, queue: str | None, target: float,
                   answer_seconds: float, fallback_aht: float) -> dict[str, Any]:
    """Agents needed per 30-minute interval of `week` (its Monday, local) beside the agents
    logged in: from the same weekday and interval of the `weeks` whole weeks before it (or
    before this week, for a week not over yet): the mean calls offered, their AHT (the
    interval's, else the whole history's, else `fallback_aht`) and the callers' patience (the
    history's), through `staffing.need`. One queue, or all queues pooled."""
    from app.reports import staffing as erlang

    tz = ZoneInfo(zone)
    history_end = min(week, week_start(now, tz))
    f = Filters(history_end - weeks * WEEK, history_end, queue, None)
    fmt = "ID HH24:MI"  # ISO weekday (1 = Monday) and the slot's local start
    raw = func.to_char(func.timezone(zone, slot_of(Call.started_at)), fmt)
    rolled = func.to_char(func.timezone(zone, ReportHour.hour), fmt)
    by = await totals(session=session, f=f, p=p, raw_key=[raw], rolled_key=[rolled], zone=tz)
    overall = Totals()
    for t in by.values():
        overall.add(t)
    patience = overall.patience_seconds()
    present = await _logged_in(session=session, f=f, p=p, tz=tz)
    items = []
    for day in range(7):
        for slot in range(48):
            start = (week + timedelta(days=day)).replace(hour=slot // 2, minute=30 * (slot % 2))
            key = f"{day + 1} {slot // 2:02d}:{30 * (slot % 2):02d}"
            t = by.get((key,), Totals())
            calls = t.offered / weeks
            aht = t.aht_seconds() or overall.aht_seconds() or fallback_aht
            n = erlang.need(calls=round(calls, 3), interval_seconds=SLOT.total_seconds(),
                            aht=round(aht, 1), patience=None if patience is None else round(
                                patience, 1), target=target, answer_seconds=answer_seconds)
            items.append({"start": start.isoformat(), "calls": round(calls, 3),
                          "aht_seconds": round(aht, 1), "erlangs": round(n.erlangs, 3),
                          "agents_erlang_c": n.agents_erlang_c,
                          "agents_erlang_a": n.agents_erlang_a,
                          "agents_needed": n.agents_needed,
                          "service_level": None if n.service_level is None
                          else round(n.service_level, 4),
                          "agents_logged_in": round(present.get(key, 0.0) / weeks
                                                    / SLOT.total_seconds(), 2)})
    return {"week": week.isoformat(), "history_since": f.since.isoformat(),
            "history_until": f.until.isoformat(), "weeks": weeks, "queue": queue,
            "target": target, "answer_seconds": answer_seconds,
            "aht_seconds": overall.aht_seconds(), "patience_seconds": patience,
            "model": "erlang_a" if patience is not None else "erlang_c", "items": items}


async def _logged_in(*, session: AsyncSession, f: Filters, p: Params,
                     tz: ZoneInfo) -> dict[str, float]:
    """Agents' logged-in seconds (any state but logged_out) per local 'ISO weekday HH:MM'
    half-hour over the range, from `report_presence` and the raw state changes for the rest."""
    hours, rest = split(Filters(f.since, f.until), await usable_rollup(session=session, p=p), tz)
    out: dict[str, float] = {}

    def add(at: datetime, seconds: float) -> None:
        local = at.astimezone(tz)
        key = f"{local.isoweekday()} {local.hour:02d}:{local.minute:02d}"
        out[key] = out.get(key, 0.0) + seconds

    for r in rest:
        for at, _agent, _state, seconds in await state_seconds_by_slot(
                session=session, since=r.since, until=r.until):
            add(at, seconds)
    if hours is not None:
        rows = await session.execute(select(ReportPresence.hour, ReportPresence.seconds_logged_in)
                                     .where(ReportPresence.hour >= hours[0],
                                            ReportPresence.hour < hours[1]))
        for at, seconds in rows.all():
            add(at, float(seconds))
    return out


# -- the monthly service-quality analysis (R18, #18) ---------------------------------------------
async def by_queue(*, session: AsyncSession, f: Filters, p: Params) -> list[dict[str, Any]]:
    """Each queue's figures, its service level with its own threshold."""
    thresholds = await queue_thresholds(session=session)
    by = await totals(session=session, f=f, p=p, raw_key=[func.coalesce(Call.queue, literal(""))],
                      rolled_key=[ReportHour.queue])
    return [{"queue": queue, "threshold_seconds": thresholds.get(queue, p.threshold_seconds),
             **asdict(t.finish())} for (queue,), t in sorted(by.items()) if queue]


async def satisfaction(*, session: AsyncSession, f: Filters) -> dict[str, Any]:
    """R17: the scores callers gave the calls of the range (count, average, 1..5)."""
    rows = dict((await session.execute(_scoped(
        select(Call.satisfaction, func.count()), f).where(Call.satisfaction.is_not(None))
        .group_by(Call.satisfaction))).all())
    total = sum(rows.values())
    return {"count": total,
            "average": round(sum(s * n for s, n in rows.items()) / total, 2) if total else None,
            "distribution": {str(s): rows.get(s, 0) for s in range(1, 6)}}


async def complaints_by_department(*, session: AsyncSession, since: datetime,
                                   until: datetime) -> list[dict[str, Any]]:
    """Complaints received in the range per responsible department and severity."""
    from app.complaints.models import Complaint, Department

    rows = await session.execute(
        select(func.coalesce(Department.name, literal("")), Complaint.severity, func.count())
        .select_from(Complaint).outerjoin(Department, Department.id == Complaint.department_id)
        .where(Complaint.created_at >= since, Complaint.created_at < until)
        .group_by(Department.name, Complaint.severity))
    return [{"department": d or None, "severity": s, "complaints": n}
            for d, s, n in sorted(rows.all(), key=lambda r: (r[0], r[1]))]
