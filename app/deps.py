"""FastAPI dependencies, defined once as `Annotated` aliases (SessionDep, CurrentUser, ...).
Everything they hand out was built by the lifespan in `app.main` and lives on `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from urllib.parse import urlsplit

from fastapi import Depends, Header, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from app.ari.client import AriClient
from app.auth.service import COOKIE, Principal, authenticate
from app.errors import AppError
from app.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


async def get_report_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on the engine for long statements (reports; `app.db`, R21)."""
    async with request.app.state.report_sessionmaker() as session:
        yield session


def get_ari(request: Request) -> AriClient:
    return request.app.state.ari


async def current_principal(request: Request,
                            authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The bearer token or the session cookie (R20); a short session of its own, so that the
    route's session is untouched by the sign-in bookkeeping."""
    async with request.app.state.sessionmaker() as session:
        return await authenticate(session=session, settings=request.app.state.settings,
                                  now=request.app.state.clock.now(), authorization=authorization,
                                  cookie=request.cookies.get(COOKIE))


def same_origin(ws: WebSocket) -> bool:
    """Browsers send Origin on WebSockets; a page on another site must not ride our cookie."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True  # not a browser (API clients, tests); they carry the token themselves
    return urlsplit(origin).netloc == ws.headers.get("host")


async def socket_principal(ws: WebSocket, token: str | None) -> Principal | None:
    """A WebSocket's user (R20): same-origin pages only; the session cookie or `?token=`.
    When refused the socket is closed (4403 cross-origin, 4401 not signed in) and None comes
    back."""
    app = ws.app
    if not same_origin(ws):
        await ws.close(code=4403, reason="cross-origin")
        return None
    principal = await socket_session(ws, token)
    if principal is None:
        await ws.close(code=4401, reason="sign in first")
    return principal


async def socket_session(ws: WebSocket, token: str | None) -> Principal | None:
    """The socket's session checked again (it may have ended since the socket opened: signed
    out, expired, idle, user deactivated or given a new password); None if it has ended."""
    app = ws.app
    try:
        async with app.state.sessionmaker() as session:
            return await authenticate(session=session, settings=app.state.settings,
                                      now=app.state.clock.now(), authorization=None,
                                      cookie=token or ws.cookies.get(COOKIE))
    except AppError:
        return None


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReportSessionDep = Annotated[AsyncSession, Depends(get_report_session)]
AriDep = Annotated[AriClient, Depends(get_ari)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
