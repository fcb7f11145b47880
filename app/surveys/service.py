"""The weekly satisfaction summary (R17): every score given in the week, overall, after agent
calls by queue, and at the end of complaint call-backs separately."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import service as callback_tasks
from app.calls import service as calls


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
