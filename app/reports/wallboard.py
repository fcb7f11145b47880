"""The real-time wallboard (R19): callers waiting now and the longest wait, agents by state,
and today's figures (service level, three-ring compliance, abandonment). The live part comes
from the live calls (`app.calls.live`) and the ACD; today's figures from Postgres, at most every
`TODAY_EVERY` seconds however many boards are open."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.live import Waiting as Waiter  # a caller in a queue now
from app.config import Settings
from app.reports import queries
from app.reports.definitions import Summary

TODAY_EVERY = 5.0


def snapshot(*, now: datetime, waiting: Iterable[Waiter], agent_states: Iterable[str],
             today: Summary | None) -> dict[str, Any]:
    """What the board shows, from plain data (pure)."""
    by_queue: dict[str, dict[str, float]] = {}
    longest = 0.0
    count = 0
    for w in waiting:
        count += 1
        waited = max((now - w.enqueued_at).total_seconds(), 0.0)
        longest = max(longest, waited)
        q = by_queue.setdefault(w.queue or "", {"waiting": 0, "longest_wait_seconds": 0.0})
        q["waiting"] += 1
        q["longest_wait_seconds"] = round(max(q["longest_wait_seconds"], waited), 1)
    states = Counter(agent_states)
    return {"type": "wallboard", "at": now.isoformat(), "waiting": count,
            "longest_wait_seconds": round(longest, 1), "by_queue": by_queue,
            "agents": {s: states.get(s, 0) for s in
                       ("ready", "ringing", "on_call", "wrap_up", "paused", "logged_out")},
            "today": asdict(today) if today is not None else None}


def local_day(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Today in the centre's time zone, as [midnight, next midnight)."""
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=1)).replace(hour=0)  # DST-safe next midnight
    return start, end


class Today:
    """Today's summary, shared by every open board and refreshed at most every TODAY_EVERY s."""

    def __init__(self) -> None:
        self._value: Summary | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, *, settings: Settings, now: datetime,
                  sessionmaker: async_sessionmaker[AsyncSession]) -> Summary | None:
        async with self._lock:
            if self._value is None or time.monotonic() - self._at >= TODAY_EVERY:
                since, until = local_day(now, settings.zone)
                async with sessionmaker() as session:
                    self._value = await queries.summary(
                        session=session, f=queries.Filters(since, until),
                        threshold_seconds=settings.service_level_seconds
                        or settings.ring_limit_seconds,
                        short_abandon_seconds=settings.short_abandon_seconds,
                        ring_limit_seconds=settings.ring_limit_seconds)
                self._at = time.monotonic()
            return self._value


def agent_states(acd: Any | None) -> list[str]:
    """Every agent's state in the live ACD (none without it)."""
    return [str(a.state) for a in (acd.agents.values() if acd is not None else ())]
