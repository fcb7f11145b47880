"""Liveness and readiness: `/health` says the process runs, `/ready` that it can serve calls."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import ordered_writer
from app.deps import EngineDep, EventStreamDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(engine: EngineDep, stream: EventStreamDep) -> JSONResponse:
    """200 only when Postgres answers and the ARI event stream is connected.

    `writers` shows the write-behind writers' backlog (R21): writes pending, the oldest one's
    age, and `behind` once that age passes `HOTLINE_WRITER_BEHIND_SECONDS`. A backlog alone does
    not make the service unready: the writes are kept in order and stored when Postgres takes
    them, and calls are served meanwhile; an outage already shows as `database`."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["asterisk"] = "ok" if stream.connected else "unavailable: event stream not connected"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ok else "not-ready", **checks,
                         "writers": ordered_writer.backlog()},
                        status_code=200 if ok else 503)
