"""The measured average handle time per queue over a moving window (#18, R19), for the
estimated wait told to waiting callers (`routing.engine.Acd.handle_seconds`).

`aht_for` is the decision (pure): the window's AHT (talk + hold + wrap-up, `definitions`) when
enough calls were handled in it, else the setting. `HandleTimes` keeps the last figures in
memory and refreshes them in the background from the report rollups, so the ACD reads a dict
and never waits on Postgres (R21); until the first refresh, and for a queue without enough
calls, it answers with `HOTLINE_AVERAGE_HANDLE_SECONDS`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, literal
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import Call
from app.reports import queries, rollup
from app.reports.definitions import Totals
from app.reports.models import ReportHour

log = structlog.get_logger(__name__)


def aht_for(totals: Totals | None, *, fallback: float, min_calls: int) -> float:
    """The window's AHT if at least `min_calls` were handled in it, else `fallback`."""
    if totals is None or totals.talked < max(min_calls, 1):
        return fallback
    aht = totals.aht_seconds()
    return fallback if aht is None or aht <= 0 else aht


class HandleTimes:
    """Per-queue AHT of the last `window`; `get` is what the ACD calls."""

    def __init__(self, *, fallback: float, window: timedelta, min_calls: int) -> None:
        self.fallback, self.window, self.min_calls = fallback, window, min_calls
        self._by_queue: dict[str, float] = {}

    def get(self, queue: str) -> float:
        """The queue's measured AHT, or the setting's (never waits)."""
        return self._by_queue.get(queue, self.fallback)

    async def refresh(self, *, session: AsyncSession, params: queries.Params,
                      now: datetime) -> dict[str, float]:
        by = await queries.totals(
            session=session, f=queries.Filters(now - self.window, now), p=params,
            raw_key=[func.coalesce(Call.queue, literal(""))], rolled_key=[ReportHour.queue])
        self._by_queue = {queue: aht_for(t, fallback=self.fallback, min_calls=self.min_calls)
                          for (queue,), t in by.items() if queue}
        return dict(self._by_queue)

    async def run_forever(self, *, sessionmaker: async_sessionmaker[AsyncSession],
                          settings: Any, clock: Any, every: float = 60.0) -> None:
        """The service's background refresh (cancelled at shutdown)."""
        while True:
            try:
                async with sessionmaker() as session:
                    done = await self.refresh(session=session, params=rollup.params_of(settings),
                                              now=clock.now())
                log.debug("reports.handle_times", **{k or "-": round(v, 1)
                                                     for k, v in done.items()})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the last figures (or the setting) stay
                log.error("reports.handle_times_failed", error=repr(exc))
            await asyncio.sleep(every)
