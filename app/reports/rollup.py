"""Keeping the rollups current (`report_hours`, `report_agent_hours`: one row per UTC half-hour
since #18, the staffing report's interval; the column keeps its name `hour`).

`refresh` runs every `HOTLINE_REPORT_ROLLUP_SECONDS` in the service (and by hand:
`python -m app.reports.rollup [--full]`). It recomputes, from the raw rows, exactly the UTC
hours that may have changed since the last run:
- hours with a call whose row changed (`calls.updated_at`, with five minutes of overlap for
  transactions that were still open), e.g. a call that ended or got its disposition late;
- hours that have completed since the last run (agents' time in a state grows with the clock);
- the hours an agent's new state changes reach back to (their previous change).
Hours are recomputed whole (delete, then insert the `raw_totals` grouped by half-hour, queue and
call type, and per agent), in one transaction under an advisory lock, so several service instances
never race. The rollups reach `rolled_until` (the last whole hour at the run); reports read the
hours after it, and the partial hours at a range's edges, raw. Changing the service level
threshold (the setting's or a queue's own), the short-abandon limit or the ring limit rebuilds
everything at the next run. A call's wrap-up (AHT) ends with its agent's next state change,
which re-rolls the call's hour (`_dirty_hours`).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, case, delete, func, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from app.calls.models import Call
from app.reports import queries
from app.reports.definitions import DECIDED
from app.reports.models import (ReportAgentDay, ReportAgentHour, ReportHour, ReportPresence,
                                RollupState)
from app.reports.queries import HOUR, STATES, Filters, Params, floor_hour
from routing.models import AgentStateChange, OfferRow

log = structlog.get_logger(__name__)
LOCK = 7_431_001  # pg_advisory_xact_lock key of the rollup
OVERLAP = timedelta(minutes=5)
DAY = timedelta(days=1)


def ranges(hours: set[datetime]) -> list[tuple[datetime, datetime]]:
    """Contiguous [start, end) ranges covering these hour starts."""
    out: list[tuple[datetime, datetime]] = []
    for h in sorted(hours):
        if out and out[-1][1] == h:
            out[-1] = (out[-1][0], h + HOUR)
        else:
            out.append((h, h + HOUR))
    return out


CHUNK = timedelta(days=7)


def chunks(span: tuple[datetime, datetime], size: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into pieces of at most `size`."""
    out, start = [], span[0]
    while start < span[1]:
        out.append((start, min(start + size, span[1])))
        start = out[-1][1]
    return out


def _hour_utc(column: Any) -> Any:
    return func.date_trunc("hour", column, "UTC")


async def refresh(*, session: AsyncSession, params: Params, now: datetime,
                  full: bool = False) -> dict[str, Any]:
    """Bring the rollups up to the last whole hour before `now`; what it did."""
    await session.execute(text(f"SELECT pg_advisory_xact_lock({LOCK})"))
    db_now = await session.scalar(select(func.now()))
    state = await session.get(RollupState, 1)
    thresholds = await queries.queue_thresholds(session=session)
    changed = state is None or (state.threshold_seconds, state.short_abandon_seconds,
                                state.ring_limit_seconds) != (
        params.threshold_seconds, params.short_abandon_seconds, params.ring_limit_seconds) or (
        state.queue_thresholds or {}) != thresholds
    if state is None:
        state = RollupState(id=1, state_change_id=0, threshold_seconds=params.threshold_seconds,
                            short_abandon_seconds=params.short_abandon_seconds,
                            ring_limit_seconds=params.ring_limit_seconds)
        session.add(state)
    until = floor_hour(now.astimezone(UTC))
    rebuild = full or changed or state.rolled_until is None
    if rebuild:
        await session.execute(delete(ReportHour))
        await session.execute(delete(ReportAgentHour))
        await session.execute(delete(ReportAgentDay))
        await session.execute(delete(ReportPresence))
        first = await session.scalar(select(func.least(
            select(func.min(Call.started_at)).scalar_subquery(),
            select(func.min(AgentStateChange.at)).scalar_subquery())))
        dirty = set()
        if first is not None:
            h = floor_hour(first.astimezone(UTC))
            dirty = {h + HOUR * i for i in range(int((until - h) / HOUR))}
    else:
        dirty = await _dirty_hours(session, state, until)
    # a week at a time: each step's rows are few, so the transaction is never idle for long
    # while Python sorts them (half-hourly agent rows of a year are millions)
    spans = [part for r in ranges({h for h in dirty if h < until}) for part in chunks(r, CHUNK)]
    for start, end in spans:
        await _roll_calls(session, start, end, params)
        await _roll_agents(session, start, end, params)
        await _roll_agent_days(session, start, end)
    state.rolled_until = until
    state.calls_seen_until = db_now
    state.state_change_id = await session.scalar(
        select(func.coalesce(func.max(AgentStateChange.id), 0)))
    state.threshold_seconds = params.threshold_seconds
    state.short_abandon_seconds = params.short_abandon_seconds
    state.ring_limit_seconds = params.ring_limit_seconds
    state.queue_thresholds = thresholds
    state.refreshed_at = db_now
    return {"hours": len(dirty), "ranges": len(spans), "rebuilt": rebuild,
            "rolled_until": until.isoformat()}


async def _dirty_hours(session: AsyncSession, state: RollupState, until: datetime) -> set[datetime]:
    dirty: set[datetime] = set()
    rolled = state.rolled_until
    assert rolled is not None
    h = rolled  # hours completed since the last run
    while h < until:
        dirty.add(h)
        h += HOUR
    since = (state.calls_seen_until or rolled) - OVERLAP
    rows = await session.scalars(select(_hour_utc(Call.started_at)).distinct().where(
        Call.updated_at > since, Call.started_at < until))
    dirty.update(r.astimezone(UTC) for r in rows)
    # an agent's new state change: their time back to the change before it is affected
    new = (select(AgentStateChange.agent_id, func.min(AgentStateChange.at).label("first"))
           .where(AgentStateChange.id > state.state_change_id)
           .group_by(AgentStateChange.agent_id).subquery())
    prev = await session.execute(
        select(new.c.agent_id, new.c.first,
               select(func.max(AgentStateChange.at)).where(
                   AgentStateChange.agent_id == new.c.agent_id,
                   AgentStateChange.at < new.c.first).scalar_subquery()))
    for _, first, before in prev.all():
        h = floor_hour((before or first).astimezone(UTC))
        while h < until:
            dirty.add(h)
            h += HOUR
    # a wrap-up that a new change ends, or begins: the hour of the call it belongs to (AHT)
    n, p = aliased(AgentStateChange), aliased(AgentStateChange)
    before = (select(p.to_state.label("to_state"), p.call_id.label("call_id"))
              .where(p.agent_id == n.agent_id, tuple_(p.at, p.id) < tuple_(n.at, n.id))
              .order_by(p.at.desc(), p.id.desc()).limit(1).lateral())
    wrapped = select(func.coalesce(case((n.to_state == "wrap_up", n.call_id)),
                                   case((before.c.to_state == "wrap_up", before.c.call_id)))
                     .label("call_id")).select_from(n).outerjoin(before, literal(True)).where(
        n.id > state.state_change_id).subquery()
    rows = await session.scalars(select(_hour_utc(Call.started_at)).distinct().join(
        wrapped, wrapped.c.call_id == Call.id).where(Call.started_at < until))
    dirty.update(r.astimezone(UTC) for r in rows)
    return dirty


async def _roll_calls(session: AsyncSession, start: datetime, end: datetime, p: Params) -> None:
    await session.execute(delete(ReportHour).where(ReportHour.hour >= start, ReportHour.hour < end))
    key = [queries.slot_of(Call.started_at), func.coalesce(Call.queue, literal("")),
           queries.call_type_expr()]
    by = await queries.raw_totals(session=session, f=Filters(start, end), key=key, p=p)
    rows = [{"hour": hour, "queue": queue, "call_type": kind, **t.__dict__}
            for (hour, queue, kind), t in by.items()]
    for i in range(0, len(rows), 2000):
        await session.execute(insert(ReportHour), rows[i:i + 2000])


async def _roll_agents(session: AsyncSession, start: datetime, end: datetime, p: Params) -> None:
    await session.execute(delete(ReportAgentHour).where(ReportAgentHour.hour >= start,
                                                        ReportAgentHour.hour < end))
    rows: dict[tuple, dict[str, Any]] = {}

    def row(hour: datetime, agent_id: Any) -> dict[str, Any]:
        return rows.setdefault((hour, agent_id), {
            "hour": hour, "agent_id": agent_id, "offers": 0, "answered": 0, "missed": 0,
            "answered_in_limit": 0, "decided": 0, "talk_seconds": 0.0,
            **{f"seconds_{s}": 0.0 for s in STATES}})

    hour = queries.slot_of(Call.started_at)
    offers = await session.execute(
        select(hour, OfferRow.agent_id, func.count(),
               func.count().filter(OfferRow.outcome == "answered"),
               func.count().filter(OfferRow.outcome == "no_answer"),
               func.count().filter(and_(OfferRow.outcome == "answered",
                                        OfferRow.ring_seconds <= p.ring_limit_seconds)),
               func.count().filter(OfferRow.outcome.in_(DECIDED)))
        .select_from(Call).join(OfferRow, OfferRow.call_id == Call.id)
        .where(Call.started_at >= start, Call.started_at < end)
        .group_by(hour, OfferRow.agent_id))
    for h, agent_id, n, answered, missed, in_limit, decided in offers.all():
        r = row(h, agent_id)
        r.update(offers=n, answered=answered, missed=missed, answered_in_limit=in_limit,
                 decided=decided)
    talk = await session.execute(
        select(hour, Call.agent_id, func.sum(func.extract("epoch", Call.ended_at - Call.connected_at)))
        .where(Call.started_at >= start, Call.started_at < end, Call.agent_id.is_not(None),
               Call.connected_at.is_not(None), Call.ended_at.is_not(None))
        .group_by(hour, Call.agent_id))
    for h, agent_id, seconds in talk.all():
        row(h, agent_id)["talk_seconds"] = float(seconds or 0)
    for h, agent_id, state, seconds in await queries.state_seconds_by_slot(
            session=session, since=start, until=end):
        row(h, agent_id)[f"seconds_{state}"] = seconds
    values = list(rows.values())
    for i in range(0, len(values), 2000):
        await session.execute(insert(ReportAgentHour), values[i:i + 2000])
    await session.execute(delete(ReportPresence).where(ReportPresence.hour >= start,
                                                       ReportPresence.hour < end))
    present: dict[datetime, float] = {}
    for r in values:
        present[r["hour"]] = present.get(r["hour"], 0.0) + sum(r[f"seconds_{s}"] for s in STATES)
    rows_present = [{"hour": h, "seconds_logged_in": v} for h, v in present.items()]
    for i in range(0, len(rows_present), 2000):
        await session.execute(insert(ReportPresence), rows_present[i:i + 2000])


async def _roll_agent_days(session: AsyncSession, start: datetime, end: datetime) -> None:
    """The UTC days these hours fall in, summed again from the agent hours."""
    first = start.replace(hour=0)
    last = end.replace(hour=0) + (DAY if end.replace(hour=0) < end else timedelta(0))
    await session.execute(delete(ReportAgentDay).where(ReportAgentDay.day >= first,
                                                       ReportAgentDay.day < last))
    cols = ["offers", "answered", "missed", "answered_in_limit", "decided", "talk_seconds",
            *(f"seconds_{s}" for s in STATES)]
    day = func.date_trunc("day", ReportAgentHour.hour, "UTC")
    await session.execute(insert(ReportAgentDay).from_select(
        ["day", "agent_id", *cols],
        select(day, ReportAgentHour.agent_id, *(func.sum(getattr(ReportAgentHour, c)) for c in cols))
        .where(ReportAgentHour.hour >= first, ReportAgentHour.hour < last)
        .group_by(day, ReportAgentHour.agent_id)))


async def run_forever(*, sessionmaker: async_sessionmaker[AsyncSession], settings: Any,
                      clock: Any) -> None:
    """The service's background refresh (cancelled at shutdown)."""
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                done = await refresh(session=session, params=params_of(settings), now=clock.now())
            log.debug("reports.rolled", **done)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - reports fall back to raw rows meanwhile
            log.error("reports.rollup_failed", error=repr(exc))
        await asyncio.sleep(settings.report_rollup_seconds)


def params_of(settings: Any) -> Params:
    return Params(threshold_seconds=settings.service_level_seconds or settings.ring_limit_seconds,
                  short_abandon_seconds=settings.short_abandon_seconds,
                  ring_limit_seconds=settings.ring_limit_seconds)


def main() -> None:
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="rebuild every hour")
    args = parser.parse_args()
    settings = Settings()

    async def go() -> None:
        engine = make_engine(settings.database_url, settings.db_long_timeouts)
        t0 = time.monotonic()
        async with make_sessionmaker(engine)() as session, session.begin():
            done = await refresh(session=session, params=params_of(settings),
                                 now=datetime.now(UTC), full=args.full)
        await engine.dispose()
        print(f"{done} in {time.monotonic() - t0:.1f} s")

    asyncio.run(go())


if __name__ == "__main__":
    main()
