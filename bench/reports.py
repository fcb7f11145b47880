"""Time the manager reports on a generated database (#7): each report for one month, through
the HTTP API in-process (FastAPI, SQLAlchemy, asyncpg, Postgres), repeated over random months.

    .venv/bin/python -m bench.generate_calls            # once: 10 million calls, a year
    .venv/bin/python -m bench.reports [--database hotline_bench] [--runs 20]

Prints p50, p95 and the worst time per report, and the machine. The target is 200 ms at p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx

from app.db import make_engine, make_sessionmaker
from app.main import create_app
from stack import postgres
from tests.support.settings import make_settings

REPORTS = {
    "summary": ("/api/reports/summary", {}),
    "summary, one queue": ("/api/reports/summary", {"queue": "complaints"}),
    "summary, one call type": ("/api/reports/summary", {"call_type": "inquiry"}),
    "volume by hour": ("/api/reports/volume", {"bucket": "hour"}),
    "volume by day": ("/api/reports/volume", {"bucket": "day"}),
    "agents": ("/api/reports/agents", {}),
    "abandoned (1000)": ("/api/reports/abandoned", {"limit": "1000"}),
    "summary as CSV": ("/api/reports/summary", {"format": "csv"}),
    "monthly analysis": ("/api/reports/monthly", {}),
    "staffing, a week from 4 weeks": ("/api/reports/staffing", {"weeks": "4"}),
    "staffing, one queue from 8 weeks": ("/api/reports/staffing",
                                         {"weeks": "8", "queue": "complaints"}),
}


async def run(url: str, runs: int, end: datetime, seed: int) -> None:
    settings = make_settings(database_url=url)
    app = create_app(settings)
    engine = make_engine(url, settings.db_long_timeouts)  # as the service's reports (app.db)
    app.state.sessionmaker = app.state.report_sessionmaker = make_sessionmaker(engine)
    rng = random.Random(seed)
    months = []
    for _ in range(runs):
        start = end - timedelta(days=rng.randint(31, 360))
        months.append((start, start + timedelta(days=30)))
    headers = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b",
                                 headers=headers, timeout=120) as client:
        await client.get("/api/reports/summary", params={  # warm the pool and caches once
            "since": months[0][0].isoformat(), "until": months[0][1].isoformat()})
        print(f"{'report (one month)':<26}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for name, (path, extra) in REPORTS.items():
            times = []
            for since, until in months:
                t0 = time.perf_counter()
                window = ({"week": since.date().isoformat()} if path.endswith("/staffing")
                          else {"month": since.strftime("%Y-%m")} if path.endswith("/monthly")
                          else {"since": since.isoformat(), "until": until.isoformat()})
                resp = await client.get(path, params={**window, **extra})
                times.append((time.perf_counter() - t0) * 1000)
                resp.raise_for_status()
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            print(f"{name:<26}{statistics.median(times):>9.0f}{p95:>9.0f}{times[-1]:>9.0f}",
                  flush=True)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="hotline_bench")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--end", default="2026-11-01T00:00:00+08:00")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    server, _ = postgres.server_url()
    url = postgres.database_url(server, args.database)
    print(f"{platform.node()}: {os.cpu_count()} CPUs, {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, database {args.database}")
    asyncio.run(run(url, args.runs, datetime.fromisoformat(args.end), args.seed))


if __name__ == "__main__":
    main()
