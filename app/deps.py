"""FastAPI dependencies, defined once as `Annotated` aliases (SessionDep, CurrentUser, ...).
Everything they hand out was built by the lifespan in `app.main` and lives on `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.ari.client import AriClient
from app.auth.service import COOKIE, Principal, authenticate
from app.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
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


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
AriDep = Annotated[AriClient, Depends(get_ari)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
