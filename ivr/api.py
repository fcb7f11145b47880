"""HTTP: the voice menu. Read by admins and managers; changed only by admins (validated first)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel

from app.auth.models import RoleName
from app.auth.service import require_role
from app.deps import CurrentUser, MenusDep, SessionDep
from app.errors import AppError, NotFound
from ivr import service
from ivr.loader import MenuError, load_menu
from ivr.runtime import MenuRuntime

router = APIRouter(prefix="/api/ivr", tags=["ivr"])
MAX_MENU_CHARS = 256_000


class InvalidMenu(AppError):
    status_code = 422
    error_id = "invalid-menu"
    message = "the menu was refused; the running menu is unchanged"


class VersionOut(BaseModel):
    id: int
    name: str
    origin: str
    created_by: str
    created_at: datetime
    is_active: bool
    sha256: str


class ActiveMenuOut(VersionOut):
    source: str
    nodes: int
    languages: list[str]


def _refused(exc: MenuError) -> InvalidMenu:
    return InvalidMenu(problems=[p.__dict__ for p in exc.problems])


async def _active_out(session, runtime: MenuRuntime) -> ActiveMenuOut:  # noqa: ANN001
    menu = runtime.current
    version = await service.get(session=session, version_id=menu.version_id)
    assert version is not None
    return ActiveMenuOut(**VersionOut.model_validate(version, from_attributes=True).model_dump(),
                         source=menu.source, nodes=len(menu.doc.nodes),
                         languages=list(menu.doc.languages))


@router.get("", response_model=ActiveMenuOut)
async def get_active(session: SessionDep, user: CurrentUser, menus: MenusDep) -> ActiveMenuOut:
    require_role(user, RoleName.manager)
    return await _active_out(session, menus)


@router.put("", response_model=ActiveMenuOut)
async def put_menu(session: SessionDep, user: CurrentUser, menus: MenusDep,
                   source: Annotated[str, Body(media_type="text/yaml")]) -> ActiveMenuOut:
    """Replace the menu with this YAML (the body, `Content-Type: text/yaml`)."""
    require_role(user)  # admins only
    if len(source) > MAX_MENU_CHARS:
        raise InvalidMenu(f"a menu is at most {MAX_MENU_CHARS} characters")
    try:
        await menus.replace(source, origin="api", created_by=user.subject)
    except MenuError as exc:
        raise _refused(exc) from exc
    return await _active_out(session, menus)


@router.post("/reload", response_model=ActiveMenuOut)
async def reload_file(session: SessionDep, user: CurrentUser, menus: MenusDep) -> ActiveMenuOut:
    """Read HOTLINE_IVR_FILE again (as SIGHUP does)."""
    require_role(user)
    try:
        await menus.reload_file(created_by=user.subject)
    except MenuError as exc:
        raise _refused(exc) from exc
    return await _active_out(session, menus)


@router.get("/versions", response_model=list[VersionOut])
async def versions(session: SessionDep, user: CurrentUser) -> list[VersionOut]:
    require_role(user, RoleName.manager)
    return [VersionOut.model_validate(v, from_attributes=True)
            for v in await service.list_versions(session=session)]


@router.get("/versions/{version_id}", response_model=ActiveMenuOut)
async def version(version_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep,
                  user: CurrentUser) -> ActiveMenuOut:  # the column's range (#20: never a 500)
    require_role(user, RoleName.manager)
    v = await service.get(session=session, version_id=version_id)
    if v is None:
        raise NotFound(f"no menu version {version_id}")
    doc = load_menu(v.source, source=f"version {v.id}")
    return ActiveMenuOut(**VersionOut.model_validate(v, from_attributes=True).model_dump(),
                         source=v.source, nodes=len(doc.nodes), languages=list(doc.languages))
