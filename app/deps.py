"""FastAPI dependencies, defined once as `Annotated` aliases (SessionDep, CurrentUser, ...).
Everything they hand out was built by the lifespan in `app.main` and lives on `app.state`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.ari.client import AriClient
from app.auth.service import Principal, authenticate
from app.config import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


def get_ari(request: Request) -> AriClient:
    return request.app.state.ari


def current_principal(request: Request,
                      authorization: Annotated[str | None, Header()] = None) -> Principal:
    return authenticate(authorization=authorization, settings=request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
AriDep = Annotated[AriClient, Depends(get_ari)]
CurrentUser = Annotated[Principal, Depends(current_principal)]
