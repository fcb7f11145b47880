"""The quality inspectors' page `/qa` (R16): the month's worklist, the recording with its paused
parts on a timeline, the scoring form (keyboard first), and the monthly report. Plain HTML and
JavaScript served by the service; sign-in and fetch come from the shared `/desk/auth.js`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"qa.js": "text/javascript", "qa.css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}
router = APIRouter(include_in_schema=False)


@router.get("/qa")
async def page() -> FileResponse:
    return FileResponse(STATIC / "qa.html", media_type="text/html", headers=NO_CACHE)


@router.get("/qa-static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=NO_CACHE)
