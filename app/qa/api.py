"""HTTP: quality inspection (R16, R20).

- `POST /api/qa/samples` {month, per_agent?, seed?}: sample a month (managers and inspectors);
  tops up, never doubles.
- `GET /api/qa/samples?month=&inspector_user_id=`: an inspector's worklist is their own samples;
  managers see all (or one inspector's).
- `GET /api/qa/samples/{id}`: one sample (its inspector, managers).
- `PATCH /api/qa/samples/{id}` {inspector_user_id}: a manager re-assigns an unscored sample.
- `PUT /api/qa/samples/{id}/score` {greeting, attitude, tone, summary, unexpected, comment}: the
  assigned inspector scores or revises (422 for a bad form, 409 `sample-unassigned`, 403
  `not-your-sample`); audited.
- `GET /api/qa/reports/agents|teams?month=&team=&format=csv`: the monthly figures (inspectors,
  managers; team leads their own team only).
- `GET /api/qa/mine?month=`: an agent's own scored samples with the comments (coaching).
`month` is `YYYY-MM` in HOTLINE_TIMEZONE; reads default to the previous month (the one being
reviewed now).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from app.auth.models import RoleName
from app.auth.service import Principal, require_role
from app.clock import Clock
from app.config import Settings
from app.deps import ClockDep, CurrentUser, SessionDep, SettingsDep
from app.errors import Forbidden
from app.qa import sampling, scoring, service
from app.qa.schemas import AssignIn, MonthText, RunIn, ScoreIn
from app.csvexport import csv_response as _csv  # streamed, None as "", cells escaped (#20)

router = APIRouter(prefix="/api/qa", tags=["qa"])
SAMPLERS = (RoleName.manager, RoleName.qa)
READERS = (RoleName.qa, RoleName.team_lead, RoleName.manager)
MonthQ = Annotated[MonthText | None, Query(description="YYYY-MM; default the previous month")]
TeamQ = Annotated[str | None, Query(max_length=100)]


def _month(month: str | None, *, now: datetime, zone: ZoneInfo) -> date:
    if month is not None:
        return sampling.parse_month(month)
    return sampling.previous_month(now, zone)


def _sample_out(view: service.SampleView, *, now: Any, for_agent: bool = False) -> dict[str, Any]:
    s, rec, agent = view.sample, view.recording, view.agent
    scores = service.scores_of(s)
    out: dict[str, Any] = {
        "id": str(s.id), "month": s.month.strftime("%Y-%m"), "recording_id": str(rec.id),
        "call_id": str(rec.call_id), "agent_id": str(agent.id), "agent_name": agent.name,
        "team": agent.team, "queue": rec.queue, "started_at": rec.started_at.isoformat(),
        "duration_seconds": rec.duration_seconds, "recording_status": rec.status,
        "review_due_at": s.review_due_at.isoformat(),
        "review_state": scoring.review_state(scored_at=s.scored_at,
                                             review_due_at=s.review_due_at, now=now),
        "scores": scores, "overall": round(scoring.overall(scores), 2) if scores else None,
        "comment": s.comment, "scored_at": s.scored_at.isoformat() if s.scored_at else None,
        "revision": s.revision}
    if not for_agent:
        out.update({"inspector_user_id": str(s.inspector_user_id) if s.inspector_user_id else None,
                    "inspector_name": view.inspector.display_name if view.inspector else None,
                    "sampled_at": s.sampled_at.isoformat()})
    return out


def _own_or_manager(principal: Principal, view: service.SampleView) -> None:
    """R20: an inspector reads the samples assigned to them; managers (and admins) all."""
    if principal.role is RoleName.qa and view.sample.inspector_user_id != principal.user_id:
        raise service.NotYourSample("this sample is assigned to another inspector")


@router.post("/samples")
async def run(body: RunIn, principal: CurrentUser, session: SessionDep, settings: SettingsDep,
              clock: ClockDep) -> dict[str, Any]:
    require_role(principal, *SAMPLERS)
    async with session.begin():
        result = await service.sample_month(
            session=session, month=body.month_date, now=clock.now(),
            zone=settings.zone, per_agent=body.per_agent or settings.qa_samples_per_agent,
            min_seconds=settings.qa_min_duration_seconds, review_days=settings.qa_review_days,
            actor=principal.subject, seed=body.seed)
    return result.as_dict()


@router.get("/samples")
async def worklist(principal: CurrentUser, session: SessionDep, clock: ClockDep,
                   settings: SettingsDep,
                   month: MonthQ = None,
                   inspector_user_id: uuid.UUID | None = None) -> dict[str, Any]:
    require_role(principal, RoleName.qa, RoleName.manager)
    if principal.role is RoleName.qa:
        inspector_user_id = principal.user_id  # R20: their own worklist
    m = _month(month, now=clock.now(), zone=settings.zone)
    views = await service.samples(session=session, month=m, inspector_user_id=inspector_user_id)
    now = clock.now()
    return {"month": m.strftime("%Y-%m"), "items": [_sample_out(v, now=now) for v in views]}


@router.get("/samples/{sample_id}")
async def one(sample_id: uuid.UUID, clock: ClockDep, principal: CurrentUser,
              session: SessionDep) -> dict[str, Any]:
    require_role(principal, RoleName.qa, RoleName.manager)
    view = await service.get(session=session, sample_id=sample_id)
    _own_or_manager(principal, view)
    return _sample_out(view, now=clock.now())


@router.patch("/samples/{sample_id}")
async def assign(sample_id: uuid.UUID, body: AssignIn, clock: ClockDep, principal: CurrentUser,
                 session: SessionDep) -> dict[str, Any]:
    require_role(principal, RoleName.manager)
    async with session.begin():
        await service.reassign(session=session, principal=principal, sample_id=sample_id,
                               inspector_user_id=body.inspector_user_id,
                               now=clock.now())
    view = await service.get(session=session, sample_id=sample_id)
    return _sample_out(view, now=clock.now())


@router.put("/samples/{sample_id}/score")
async def score(sample_id: uuid.UUID, body: ScoreIn, clock: ClockDep, principal: CurrentUser,
                session: SessionDep) -> dict[str, Any]:
    if principal.role is not RoleName.qa:  # admins included: managers re-assign instead
        raise Forbidden("only the inspector a sample is assigned to scores it")
    async with session.begin():
        await service.score(session=session, principal=principal, sample_id=sample_id,
                            scores=body.marks(), comment=body.comment,
                            now=clock.now())
    view = await service.get(session=session, sample_id=sample_id)
    return _sample_out(view, now=clock.now())


async def _report(clock: Clock, settings: Settings, principal: Principal, session: Any,
                  month: str | None, team: str | None, by: str, format: str) -> Any:
    require_role(principal, *READERS)
    team = service.may_read(principal, team)
    m = _month(month, now=clock.now(), zone=settings.zone)
    rows = await service.report(session=session, month=m, by=by, team=team)
    if format == "csv":
        return _csv(rows, f"qa-{by}s-{m.strftime('%Y-%m')}.csv")
    return {"month": m.strftime("%Y-%m"), "team": team, "items": rows}


@router.get("/reports/agents")
async def agents_report(principal: CurrentUser, session: SessionDep, clock: ClockDep,
                        settings: SettingsDep,
                        month: MonthQ = None, team: TeamQ = None,
                        format: Literal["json", "csv"] = "json") -> Any:
    return await _report(clock, settings, principal, session, month, team, "agent", format)


@router.get("/reports/teams")
async def teams_report(principal: CurrentUser, session: SessionDep, clock: ClockDep,
                       settings: SettingsDep,
                       month: MonthQ = None, team: TeamQ = None,
                       format: Literal["json", "csv"] = "json") -> Any:
    return await _report(clock, settings, principal, session, month, team, "team", format)


@router.get("/mine")
async def mine(principal: CurrentUser, session: SessionDep, clock: ClockDep,
               settings: SettingsDep,
               month: MonthQ = None) -> dict[str, Any]:
    """An agent's own scored samples, with the inspector's comments (not the inspector's name)."""
    if principal.role is not RoleName.agent or principal.agent_id is None:
        raise Forbidden("only an agent linked to an ACD agent has scores of their own")
    m = _month(month, now=clock.now(), zone=settings.zone)
    views = await service.samples(session=session, month=m, agent_id=principal.agent_id)
    now = clock.now()
    items = [_sample_out(v, now=now, for_agent=True) for v in views
             if v.sample.scored_at is not None]
    # over all the month's samples, as in the agents report (`sampled` counts the unscored too)
    figs = scoring.figures(service.scores_of(v.sample) for v in views)
    return {"month": m.strftime("%Y-%m"), "items": items, **figs.as_dict()}
