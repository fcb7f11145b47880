"""Liveness and readiness: `/health` says the process runs, `/ready` that it can serve calls."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app import ordered_writer
from app.deps import EngineDep, EventStreamDep, RoleDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(engine: EngineDep, stream: EventStreamDep, role: RoleDep) -> JSONResponse:
    """200 only when this instance is the active one (R21: `role`, the lease, app/role.py),
    Postgres answers and the ARI event stream is connected; `why` names the first that is not.

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
    described = role.describe() if role is not None else {}
    why = [reason for reason, failing in (
        (described.get("role"), described.get("role", "active") != "active"),  # standby...
        ("postgres down", checks["database"] != "ok"),
        ("asterisk down", checks["asterisk"] != "ok")) if failing]
    body = {"status": "not-ready" if why else "ready", **described, **checks,
            "writers": ordered_writer.backlog()}
    if why:
        body["why"] = why[0]
    return JSONResponse(body, status_code=503 if why else 200)
