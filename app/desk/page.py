"""The agent desktop page and the team lead's page (`/lead`: complaints, deadlines, call-backs):
plain HTML, CSS and JavaScript served by the service itself (no front-end build, no second
server). `/` leads to the desk."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"desk.js": "text/javascript", "desk.css": "text/css", "lead.js": "text/javascript",
          "auth.js": "text/javascript"}  # auth.js: sign-in and fetch, shared by every page
router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/desk")


@router.get("/desk")
async def page() -> FileResponse:
    return FileResponse(STATIC / "desk.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/lead")
async def lead_page() -> FileResponse:
    return FileResponse(STATIC / "lead.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/desk/{name}")
async def asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(status_code=404)
    return FileResponse(STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})
