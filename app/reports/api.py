"""HTTP: manager reports (R18, R19), for managers and team leads. Every report takes
`since`/`until` (with a UTC offset; default the last 24 hours), `queue` and `call_type`, and
`format=csv` for a streamed CSV instead of JSON. Figures are defined in `definitions.py`."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.models import RoleName
from app.auth.service import require_role
from app.calls.live import LiveCalls
from app.clock import Clock
from app.config import Settings
from app.csvexport import csv_response as _csv  # one CSV helper: cells escaped (#20)
from app.customers.numbers import national
from app.deps import (AcdDep, ClockDep, CurrentUser, LiveCallsDep, ReportSessionDep, SessionmakerDep, SettingsDep, TodayDep, socket_principal)
from app.errors import AppError, InvalidRange
from app.reports import queries, wallboard
from app.reports.queries import Bucket, Filters

router = APIRouter(prefix="/api/reports", tags=["reports"])
READERS = (RoleName.manager, RoleName.team_lead)
Format = Literal["json", "csv"]
MAX_RANGE = timedelta(days=400)


# R18: a report's range (400 days at most) and its own wording of the invalid-range error.
RANGE_RULE = "`since` must be before `until`, both with a UTC offset, at most 400 days apart"


def _filters(now: datetime, since: datetime | None, until: datetime | None,
             queue: str | None, call_type: str | None) -> Filters:
    until = until or now
    since = since or until - timedelta(days=1)
    if since.tzinfo is None or until.tzinfo is None or since >= until or until - since > MAX_RANGE:
        raise InvalidRange(RANGE_RULE)
    return Filters(since=since, until=until, queue=queue, call_type=call_type)


Since = Annotated[datetime | None, Query(description="calls started at or after (with offset)")]
Until = Annotated[datetime | None, Query(description="calls started before (with offset)")]
QueueQ = Annotated[str | None, Query(max_length=64)]
TypeQ = Annotated[str | None, Query(pattern=r"^(consultation|inquiry|complaint|other|outbound)$")]


@router.get("/summary")
async def summary(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                  settings: SettingsDep, since: Since = None, until: Until = None,
                  queue: QueueQ = None, call_type: TypeQ = None,
                  format: Format = "json") -> Any:
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, queue, call_type)
    result = await queries.summary(
        session=session, f=f, ring_limit_seconds=settings.ring_limit_seconds,
        threshold_seconds=settings.service_level_seconds or settings.ring_limit_seconds,
        short_abandon_seconds=settings.short_abandon_seconds)
    types = await queries.by_call_type(
        session=session, f=f, ring_limit_seconds=settings.ring_limit_seconds,
        threshold_seconds=settings.service_level_seconds or settings.ring_limit_seconds,
        short_abandon_seconds=settings.short_abandon_seconds)
    body = {"since": f.since.isoformat(), "until": f.until.isoformat(), **asdict(result),
            "by_call_type": types}
    if format == "csv":
        flat = {k: v for k, v in body.items() if k != "by_call_type"}
        flat.update({f"calls_{k}": v for k, v in sorted(types.items())})
        return _csv([flat], "summary.csv")
    return body


@router.get("/volume")
async def volume(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                 settings: SettingsDep, bucket: Bucket = "hour", since: Since = None,
                 until: Until = None, queue: QueueQ = None, call_type: TypeQ = None,
                 format: Format = "json") -> Any:
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, queue, call_type)
    rows = await queries.volume(
        session=session, f=f, bucket=bucket, zone=settings.timezone,
        threshold_seconds=settings.service_level_seconds or settings.ring_limit_seconds,
        short_abandon_seconds=settings.short_abandon_seconds,
        ring_limit_seconds=settings.ring_limit_seconds)
    return _csv(rows, f"volume-{bucket}.csv") if format == "csv" else {"bucket": bucket,
                                                                         "items": rows}


@router.get("/agents")
async def agents(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                 settings: SettingsDep, since: Since = None, until: Until = None,
                 queue: QueueQ = None, call_type: TypeQ = None, format: Format = "json") -> Any:
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, queue, call_type)
    rows = await queries.agents(
        session=session, f=f, ring_limit_seconds=settings.ring_limit_seconds,
        threshold_seconds=settings.service_level_seconds or settings.ring_limit_seconds,
        short_abandon_seconds=settings.short_abandon_seconds)
    if format == "csv":
        return _csv(({**{k: v for k, v in r.items() if k != "seconds_by_state"},
                      **{f"seconds_{k}": v for k, v in r["seconds_by_state"].items()}}
                     for r in rows), "agents.csv")
    return {"items": rows}


@router.get("/occupancy")
async def occupancy(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                    settings: SettingsDep, bucket: Literal["hour", "shift"] = "hour",
                    since: Since = None, until: Until = None, format: Format = "json") -> Any:
    """R19: busy and idle per local hour or per shift (HOTLINE_SHIFTS), for staffing seats."""
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, None, None)
    rows = await queries.occupancy(
        session=session, f=f, zone=settings.timezone, bucket=bucket,
        shifts=settings.shift_list, p=queries.Params(
            settings.service_level_seconds or settings.ring_limit_seconds,
            settings.short_abandon_seconds, settings.ring_limit_seconds))
    if format == "csv":
        return _csv(({**{k: v for k, v in r.items() if k != "seconds_by_state"},
                      **{f"seconds_{k}": v for k, v in r["seconds_by_state"].items()}}
                     for r in rows), f"occupancy-{bucket}.csv")
    return {"bucket": bucket, "items": rows}


@router.get("/complaints")
async def complaints(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                     since: Since = None, until: Until = None, format: Format = "json") -> Any:
    """R15 deadlines met and missed for the complaints received in the range, and R17's
    satisfaction of their call-backs."""
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, None, None)
    body = await queries.complaint_deadlines(session=session, since=f.since, until=f.until,
                                             now=clock.now())
    if format == "csv":
        flat: dict[str, Any] = {}
        for key, value in body.items():
            if isinstance(value, dict):
                flat.update({f"{key}_{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        return _csv([flat], "complaints.csv")
    return {"since": f.since.isoformat(), "until": f.until.isoformat(), **body}


@router.get("/abandoned")
async def abandoned(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                    since: Since = None, until: Until = None, queue: QueueQ = None,
                    call_type: TypeQ = None, limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                    format: Format = "json") -> Any:
    """The abandoned calls with their numbers, to call back (managers and team leads have the
    need, R20)."""
    require_role(principal, *READERS)
    f = _filters(clock.now(), since, until, queue, call_type)
    calls = await queries.abandoned(session=session, f=f, limit=limit)
    rows = [{"call_id": str(c.id), "started_at": c.started_at.isoformat(),
             "caller_number": c.caller_number,
             "caller_national": national(c.caller_number) if c.caller_number and
             c.caller_number.startswith("+") else c.caller_number,
             "queue": c.queue,
             "waited_seconds": round((c.ended_at - c.enqueued_at).total_seconds(), 3)
             if c.ended_at and c.enqueued_at else None} for c in calls]
    return _csv(rows, "abandoned.csv") if format == "csv" else {"items": rows}


@router.get("/staffing")
async def staffing(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                   settings: SettingsDep,
                   week: Annotated[date | None, Query(description="a day of the week to staff "
                                                      "(default: next week)")] = None,
                   weeks: Annotated[int, Query(ge=1, le=26)] = 4, queue: QueueQ = None,
                   target: Annotated[float, Query(gt=0, lt=1)] = 0.8,
                   answer_seconds: Annotated[float | None, Query(gt=0, le=3600)] = None,
                   format: Format = "json") -> Any:
    """R19 (#18): agents needed per 30-minute interval of a week (Erlang C, Erlang A with the
    measured patience) for `target` of calls answered within `answer_seconds` (default: the
    queue's service-level threshold, else the setting's, else the three-ring limit), beside the
    agents logged in, from the same weekday and interval of the last `weeks` weeks."""
    require_role(principal, *READERS)
    now = clock.now()
    zone = settings.zone
    start = queries.week_start(
        datetime.combine(week, datetime.min.time(), zone) if week is not None
        else now + timedelta(days=7), zone)
    p = queries.Params(settings.service_level_seconds or settings.ring_limit_seconds,
                       settings.short_abandon_seconds, settings.ring_limit_seconds)
    if answer_seconds is None:
        own = (await queries.queue_thresholds(session=session)).get(queue or "")
        answer_seconds = own or p.threshold_seconds
    body = await queries.staffing(session=session, p=p, zone=settings.timezone, week=start,
                                  now=now, weeks=weeks, queue=queue, target=target,
                                  answer_seconds=answer_seconds,
                                  fallback_aht=settings.average_handle_seconds)
    if format == "csv":
        return _csv(body["items"], f"staffing-{start.date().isoformat()}.csv")
    return body


class InvalidMonth(AppError):
    status_code = 422
    error_id = "invalid-month"
    message = "a month is written 2026-11"


@router.get("/monthly")
async def monthly(principal: CurrentUser, session: ReportSessionDep, clock: ClockDep,
                  settings: SettingsDep,
                  month: Annotated[str | None, Query(description="2026-11; default: last month")]
                  = None) -> dict[str, Any]:
    """R18 (#18): the monthly service-quality analysis of a local calendar month: volume by call
    type and by day, service level (each queue with its threshold), abandonment, three-ring
    compliance, AHT, complaints by severity and department with their deadlines, QA scores by
    team, and satisfaction."""
    from app.qa import service as qa

    require_role(principal, *READERS)
    zone = settings.zone
    local = clock.now().astimezone(zone)
    try:
        first = (date.fromisoformat(f"{month}-01") if month is not None
                 else (local.replace(day=1) - timedelta(days=1)).date().replace(day=1))
    except ValueError as exc:
        raise InvalidMonth() from exc
    since = datetime.combine(first, datetime.min.time(), zone)
    until = datetime.combine((first + timedelta(days=32)).replace(day=1), datetime.min.time(),
                             zone)
    p = queries.Params(settings.service_level_seconds or settings.ring_limit_seconds,
                       settings.short_abandon_seconds, settings.ring_limit_seconds)
    f = Filters(since, until)
    kw = dict(threshold_seconds=p.threshold_seconds,
              short_abandon_seconds=p.short_abandon_seconds,
              ring_limit_seconds=p.ring_limit_seconds)
    return {
        "month": first.strftime("%Y-%m"), "since": since.isoformat(), "until": until.isoformat(),
        "summary": asdict(await queries.summary(session=session, f=f, **kw)),
        "by_call_type": await queries.by_call_type(session=session, f=f, **kw),
        "by_day": await queries.volume(session=session, f=f, bucket="day",
                                       zone=settings.timezone, **kw),
        "by_queue": await queries.by_queue(session=session, f=f, p=p),
        "complaints": await queries.complaint_deadlines(session=session, since=since,
                                                        until=until, now=clock.now()),
        "complaints_by_department": await queries.complaints_by_department(
            session=session, since=since, until=until),
        "qa_by_team": await qa.report(session=session, month=first, by="team"),
        "satisfaction": await queries.satisfaction(session=session, f=f),
    }


# -- the wallboard ---------------------------------------------------------------------------
WALLBOARD_EVERY = 1.0  # seconds between pushes (the live part; today's figures every 5 s)


async def _board(*, calls: LiveCalls, acd: Any | None, today: wallboard.Today,
                 settings: Settings, clock: Clock,
                 sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    figures = await today.get(settings=settings, now=clock.now(), sessionmaker=sessionmaker)
    return wallboard.snapshot(now=clock.now(), waiting=calls.waiting(),
                              agent_states=wallboard.agent_states(acd), today=figures)


@router.get("/wallboard")
async def wallboard_now(principal: CurrentUser, calls: LiveCallsDep, acd: AcdDep,
                        today: TodayDep, settings: SettingsDep, clock: ClockDep,
                        sessions: SessionmakerDep) -> dict[str, Any]:
    require_role(principal, *READERS)
    return await _board(calls=calls, acd=acd, today=today, settings=settings, clock=clock,
                        sessionmaker=sessions)


@router.websocket("/wallboard/ws")
async def wallboard_socket(ws: WebSocket, calls: LiveCallsDep, acd: AcdDep, today: TodayDep,
                           settings: SettingsDep, clock: ClockDep, sessions: SessionmakerDep,
                           token: Annotated[str | None, Query()] = None) -> None:
    """The board, pushed every second while it changes (managers and team leads; the session
    cookie or `?token=`; same-origin pages only)."""
    principal = await socket_principal(ws, token)
    if principal is None:
        return
    try:
        require_role(principal, *READERS)
    except AppError as exc:
        await ws.close(code=4403, reason=exc.message)
        return
    await ws.accept()
    last: dict[str, Any] | None = None
    try:
        while True:
            board = await _board(calls=calls, acd=acd, today=today, settings=settings,
                                 clock=clock, sessionmaker=sessions)
            comparable = {k: v for k, v in board.items() if k != "at"}
            if comparable != last or board["waiting"]:  # waits grow: resend while anyone waits
                await ws.send_json(board)
                last = comparable
            await asyncio.sleep(WALLBOARD_EVERY)
    except (WebSocketDisconnect, RuntimeError):
        pass
