"""FastAPI dependencies, defined once as `Annotated` aliases (SessionDep, ClockDep, AcdDep,
LiveCallsDep, CurrentUser, ...). Everything they hand out was built by the lifespan in `app.main`
(or by `create_app`) and lives on `app.state`; routes read `app.state` only through these. What a
service may lack when the app runs without its lifespan (the ACD, the ARI client, the live calls)
is handed out as None, an empty façade or a 503, as each says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from urllib.parse import urlsplit

from fastapi import Depends, Header, WebSocket
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection, Request

from app.ari.client import AriClient
from app.ari.stream import EventStream
from app.auth.service import COOKIE, Principal, TooManyAttempts, UnknownToken, authenticate
from app.calls.live import LiveCalls, StasisLiveCalls
from app.complaints.alerts import Webhooks
from app.clock import Clock
from app.config import Settings
from app.desk.notifier import DeskNotifier
from app.errors import AcdUnavailable, AppError
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage, Storage
from app.reports.wallboard import Today
from app.role import ServiceRole
from ivr.runtime import MenuRuntime
from routing.engine import Acd

# Every dependency takes the HTTP connection, so WebSocket routes use them as HTTP routes do.


def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_clock(conn: HTTPConnection) -> Clock:
    return conn.app.state.clock


def get_sessionmaker(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    """For work outside the route's own session (a socket's audit, a short sign-in check)."""
    return conn.app.state.sessionmaker


async def get_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    async with conn.app.state.sessionmaker() as session:
        yield session


async def get_report_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """A session on the engine for long statements (reports; `app.db`, R21)."""
    async with conn.app.state.report_sessionmaker() as session:
        yield session


def get_engine(conn: HTTPConnection) -> AsyncEngine:
    return conn.app.state.engine


def get_stream(conn: HTTPConnection) -> EventStream:
    return conn.app.state.stream


def get_ari(conn: HTTPConnection) -> AriClient:
    return conn.app.state.ari


def get_telephony(conn: HTTPConnection) -> AriClient | None:
    """The ARI client, or None when the service runs without telephony."""
    return getattr(conn.app.state, "ari", None)


def get_acd(conn: HTTPConnection) -> Acd | None:
    """The live ACD, or None when the service runs without it (reads then show stored states)."""
    return getattr(conn.app.state, "acd", None)


def get_recorder(conn: HTTPConnection) -> Recorder:
    """The live calls' recorder (R16); 503 `acd-unavailable` when call handling is not running."""
    recorder = getattr(conn.app.state, "recorder", None)
    if recorder is None:
        raise AcdUnavailable("call handling is not running")
    return recorder


def get_storage(conn: HTTPConnection) -> Storage:
    """The lifespan's storage; without it (an app not started), the configured directory."""
    storage = getattr(conn.app.state, "storage", None)
    return storage or LocalStorage(conn.app.state.settings.storage_dir)


def get_menus(conn: HTTPConnection) -> MenuRuntime:
    return conn.app.state.menus


def get_desk(conn: HTTPConnection) -> DeskNotifier:
    return conn.app.state.desk


def get_today(conn: HTTPConnection) -> Today:
    return conn.app.state.today


def get_webhooks(conn: HTTPConnection) -> Webhooks:
    """The departments' webhooks (R15: major and crisis complaints)."""
    return conn.app.state.complaint_webhooks


def get_role(conn: HTTPConnection) -> ServiceRole | None:
    """Active or standby (R21, app/role.py); None in an app built without its lifespan."""
    return getattr(conn.app.state, "role", None)


def get_live_calls(conn: HTTPConnection) -> LiveCalls:
    """The calls going on now (app.calls.live); with no call handling running, none."""
    return StasisLiveCalls(getattr(conn.app.state, "stasis", None))


async def current_principal(request: Request,
                            authorization: Annotated[str | None, Header()] = None) -> Principal:
    """The bearer token or the session cookie (R20); a short session of its own, so that the
    route's session is untouched by the sign-in bookkeeping."""
    return await _authenticate(request, authorization=authorization,
                               cookie=request.cookies.get(COOKIE))


async def _authenticate(conn: HTTPConnection, *, authorization: str | None,
                        cookie: str | None) -> Principal:
    """#20, R20: an address whose tokens keep failing is refused (429) for the sign-in window,
    like one guessing passwords; the right token too, meanwhile."""
    state = conn.app.state
    now, address = state.clock.now(), conn.client.host if conn.client else "?"
    failures = state.token_failures
    if (retry := failures.retry_after(address, now)) is not None:
        raise TooManyAttempts("too many failed tokens from this address; try again later",
                              retry_after_seconds=retry)
    async with state.sessionmaker() as session:
        try:
            return await authenticate(session=session, settings=state.settings, now=now,
                                      authorization=authorization, cookie=cookie)
        except UnknownToken:  # a guess (an ended session is not counted)
            failures.failed(address, now)
            raise


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
    try:
        return await _authenticate(ws, authorization=None, cookie=token or ws.cookies.get(COOKIE))
    except AppError:
        return None


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
ReportSessionDep = Annotated[AsyncSession, Depends(get_report_session)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
EventStreamDep = Annotated[EventStream, Depends(get_stream)]
RoleDep = Annotated[ServiceRole | None, Depends(get_role)]
AriDep = Annotated[AriClient, Depends(get_ari)]
TelephonyDep = Annotated[AriClient | None, Depends(get_telephony)]
AcdDep = Annotated[Acd | None, Depends(get_acd)]
RecorderDep = Annotated[Recorder, Depends(get_recorder)]
StorageDep = Annotated[Storage, Depends(get_storage)]
MenusDep = Annotated[MenuRuntime, Depends(get_menus)]
DeskDep = Annotated[DeskNotifier, Depends(get_desk)]
TodayDep = Annotated[Today, Depends(get_today)]
WebhooksDep = Annotated[Webhooks, Depends(get_webhooks)]
LiveCallsDep = Annotated[LiveCalls, Depends(get_live_calls)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
