"""The weekly satisfaction summary (R17): every score given in the week, overall, after agent
calls by queue, and at the end of complaint call-backs separately."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.callbacks import service as callback_tasks
from app.calls import service as calls
from app.surveys import rules
from app.surveys.models import SatisfactionWeek

log = structlog.get_logger(__name__)
JOB_EVERY = 300.0  # seconds between looks: last week's summary is made minutes after Monday 00:00


def figures(counts: dict[int, int]) -> dict[str, Any]:
    """Count, average (2 decimals; None without scores) and the distribution 1..5."""
    total = sum(counts.values())
    average = round(sum(s * n for s, n in counts.items()) / total, 2) if total else None
    return {"count": total, "average": average,
            "distribution": {str(s): counts.get(s, 0) for s in range(1, 6)}}


async def weekly(*, session: AsyncSession, start: datetime, end: datetime) -> dict[str, Any]:
    """Scores given in [start, end), grouped: (kind, queue, score) -> n."""
    scored = await calls.scores(session=session, start=start, end=end)
    of_complaints = await callback_tasks.complaint_calls(session=session,
                                                         call_ids={c for c, _, _ in scored})
    rows = [(call_id, queue, score, call_id in of_complaints) for call_id, queue, score in scored]
    overall: dict[int, int] = {}
    after_calls: dict[int, int] = {}
    by_queue: dict[str, dict[int, int]] = {}
    callbacks: dict[int, int] = {}
    for _, queue, score, from_complaint in rows:
        overall[score] = overall.get(score, 0) + 1
        if from_complaint:
            callbacks[score] = callbacks.get(score, 0) + 1
            continue
        after_calls[score] = after_calls.get(score, 0) + 1
        per = by_queue.setdefault(queue or "", {})
        per[score] = per.get(score, 0) + 1
    return {"overall": figures(overall),
            "after_calls": figures(after_calls) | {"by_queue": [
                {"queue": q or None} | figures(c) for q, c in sorted(by_queue.items())]},
            "complaint_callbacks": figures(callbacks)}


async def kept(*, session: AsyncSession, week: str) -> SatisfactionWeek | None:
    """The summary of `week` as it was made, if it was."""
    return await session.get(SatisfactionWeek, week)


async def keep_due_week(*, session: AsyncSession, now: datetime, zone: Any) -> str | None:
    """Make and keep the summary of the week that is over and not kept yet (R17: last week's,
    due by Monday 18:00); the week made, or None. Idempotent across instances."""
    week = rules.due_week(now, zone, kept=False)
    if week is None or await kept(session=session, week=week) is not None:
        return None
    span = rules.week_range(week, zone)
    figures = await weekly(session=session, start=span.start, end=span.end)
    made = await session.execute(insert(SatisfactionWeek).values(
        week=week, start=span.start, end=span.end, made_at=now, figures=figures)
        .on_conflict_do_nothing(index_elements=["week"]))
    return week if made.rowcount else None


async def run_forever(*, sessionmaker: async_sessionmaker[AsyncSession], settings: Any,
                      clock: Any) -> None:
    """The service's weekly summary job (cancelled at shutdown)."""
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                week = await keep_due_week(session=session, now=clock.now(), zone=settings.zone)
            if week is not None:
                log.info("surveys.week_kept", week=week)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - tried again at the next look
            log.error("surveys.week_failed", error=repr(exc))
        await asyncio.sleep(JOB_EVERY)
