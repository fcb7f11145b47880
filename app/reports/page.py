"""The managers' pages (R18, R19): `/dashboard` (volume, abandonment, service level, agents) and
`/wallboard` (live), `/staffing` (agents needed per 30 minutes, #18), `/monthly` (the monthly
service-quality analysis, printable, #18). Plain HTML and JavaScript with inline SVG charts, served by the service."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"dashboard": "dashboard.html", "wallboard": "wallboard.html",
         "staffing": "staffing.html", "monthly": "monthly.html"}
ASSETS = {"reports.js": "text/javascript", "wallboard.js": "text/javascript",
          "staffing.js": "text/javascript", "monthly.js": "text/javascript",
          "reports.css": "text/css"}
router = APIRouter(include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/dashboard")
async def dashboard() -> FileResponse:
    return FileResponse(STATIC / PAGES["dashboard"], media_type="text/html", headers=NO_CACHE)


@router.get("/wallboard")
async def wallboard() -> FileResponse:
    return FileResponse(STATIC / PAGES["wallboard"], media_type="text/html", headers=NO_CACHE)


@router.get("/staffing")
async def staffing() -> FileResponse:
    """Agents needed per 30 minutes beside those logged in (R19, #18)."""
    return FileResponse(STATIC / PAGES["staffing"], media_type="text/html", headers=NO_CACHE)


@router.get("/monthly")
async def monthly() -> FileResponse:
    """The monthly service-quality analysis, printable (R18, #18)."""
    return FileResponse(STATIC / PAGES["monthly"], media_type="text/html", headers=NO_CACHE)


@router.get("/reports-static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=NO_CACHE)
