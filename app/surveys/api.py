"""HTTP: the weekly satisfaction summary (R17: Monday-Sunday in the centre's time zone, ready
by the next Monday 18:00). Team leads and managers. A week the job kept (`kept_at`) is shown as
it was made; another is computed now."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.auth.models import RoleName
from app.auth.service import require_role
from app.deps import ClockDep, CurrentUser, SessionDep, SettingsDep
from app.errors import AppError
from app.surveys import rules, service

router = APIRouter(prefix="/api/reports/satisfaction", tags=["reports"])


class InvalidWeek(AppError):
    status_code = 422
    error_id = "invalid-week"
    message = "a week is written 2026-W47"


@router.get("/weekly")
async def weekly(session: SessionDep, user: CurrentUser, settings: SettingsDep, clock: ClockDep,
                 week: str | None = Query(None, description="ISO week, e.g. 2026-W47; "
                                          "default: the last full week")) -> dict:
    require_role(user, RoleName.team_lead, RoleName.manager)
    now = clock.now()
    try:
        span = rules.week_range(week or rules.last_week(now, settings.zone), settings.zone)
    except ValueError as exc:
        raise InvalidWeek(str(exc)) from exc
    made = await service.kept(session=session, week=span.week)  # as it was reported (#18)
    figures = made.figures if made is not None else await service.weekly(
        session=session, start=span.start, end=span.end)
    return {"week": span.week, "timezone": settings.timezone, "start": span.start,
            "end": span.end, "ready_by": span.ready_by, "complete": now >= span.end,
            "kept_at": made.made_at if made is not None else None} | figures
