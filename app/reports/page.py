"""The managers' pages (R18, R19): `/dashboard` (volume, abandonment, service level, agents) and
`/wallboard` (live), `/staffing` (agents needed per 30 minutes, #18), `/monthly` (the monthly
service-quality analysis, printable, #18). Plain HTML and JavaScript with inline SVG charts
(`report-kit.js` holds what they share), served by the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
PAGES = {"dashboard": "dashboard.html", "wallboard": "wallboard.html",
         "staffing": "staffing.html", "monthly": "monthly.html"}
ASSETS = {"report-kit.js": "text/javascript", "reports.js": "text/javascript",
          "wallboard.js": "text/javascript", "staffing.js": "text/javascript",
          "monthly.js": "text/javascript", "reports.css": "text/css"}
router = APIRouter(include_in_schema=False)
NO_CACHE = {"Cache-Control": "no-cache"}


def _page(file: str) -> Callable[[], Awaitable[FileResponse]]:
    async def page() -> FileResponse:
        return FileResponse(STATIC / file, media_type="text/html", headers=NO_CACHE)
    return page


for _path, _file in PAGES.items():
    router.add_api_route(f"/{_path}", _page(_file), methods=["GET"])


@router.get("/reports-static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers=NO_CACHE)
