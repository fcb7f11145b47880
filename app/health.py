"""Liveness and readiness: `/health` says the process runs, `/ready` that it can serve calls."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """200 only when this instance is the active one (R21: `role`, the lease, app/role.py),
    Postgres answers and the ARI event stream is connected; `why` names the first that is not."""
    state = request.app.state
    role = getattr(state, "role", None)  # absent in apps built without their lifespan
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"unavailable: {type(exc).__name__}"
    checks["asterisk"] = "ok" if state.stream.connected else "unavailable: event stream not connected"
    described = role.describe() if role is not None else {}
    why = [reason for reason, failing in (
        (described.get("role"), described.get("role", "active") != "active"),  # standby...
        ("postgres down", checks["database"] != "ok"),
        ("asterisk down", checks["asterisk"] != "ok")) if failing]
    body = {"status": "not-ready" if why else "ready", **described, **checks}
    if why:
        body["why"] = why[0]
    return JSONResponse(body, status_code=503 if why else 200)
