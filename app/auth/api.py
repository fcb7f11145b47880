"""HTTP: sign-in and sign-out (R20), who am I, and user accounts (admins create them).

`POST /api/auth/login` answers with a token and sets it as an HttpOnly, SameSite=Strict cookie,
so that the agent desktop page and its WebSocket are authenticated without the page handling the
token; API clients send it as `Authorization: Bearer <token>`. Signing out ends the session; an
agent who signs out of their last session is logged out of the ACD (if not on a call).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.auth import passwords, service
from app.auth.models import RoleName, User
from app.auth.schemas import LoginIn, LoginOut, UserIn, UserOut, UserPatch
from app.deps import AcdDep, ClockDep, CurrentUser, SessionDep, SettingsDep
from app.errors import AppError, Conflict, NotFound

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api", tags=["auth"])
USER_READERS = (RoleName.manager,)


class UsernameTaken(Conflict):
    error_id = "username-taken"
    message = "that user name is taken"


class AgentTaken(Conflict):
    error_id = "agent-taken"
    message = "that agent is another user's already, or does not exist"


class InspectorNotAnAgent(AppError):
    status_code = 422
    error_id = "inspector-not-an-agent"
    message = "a quality inspector is not linked to an agent: they see numbers masked (R20)"


def _check_link(role: str, agent_id: uuid.UUID | None) -> None:
    """R20: an agent link brings screen pops with the caller's full number and record; quality
    inspectors never see numbers in full, so they cannot have one."""
    if role == RoleName.qa and agent_id is not None:
        raise InspectorNotAnAgent()


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post("/auth/login", response_model=LoginOut)
async def login(body: LoginIn, request: Request, response: Response, session: SessionDep,
                settings: SettingsDep, clock: ClockDep) -> LoginOut:
    token, opened, user = await service.sign_in(
        session=session, settings=settings, now=clock.now(),
        username=body.username, password=body.password, ip=_client_ip(request))
    response.set_cookie(service.COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=settings.secure_cookies,
                        max_age=int(settings.session_hours * 3600))
    log.info("auth.signed_in", user=user.username, role=user.role)
    return LoginOut(token=token, expires_at=opened.expires_at, user=UserOut.model_validate(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentUser, session: SessionDep, settings: SettingsDep,
                 clock: ClockDep, acd: AcdDep) -> Response:
    now = clock.now()
    if principal.session_id is not None:
        await service.sign_out(session=session, session_id=principal.session_id, now=now)
    if (principal.agent_id is not None and acd is not None and principal.user_id is not None
            and not await service.live_sessions(
                session=session, user_id=principal.user_id, now=now,
                idle=timedelta(minutes=settings.session_idle_minutes))):
        try:
            await acd.request_state(principal.agent_id, "logged_out", "signed_out")
        except Exception as exc:  # noqa: BLE001 - on a call: the ACD logs them out after it
            log.info("auth.agent_stays", agent=str(principal.agent_id), why=str(exc))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(service.COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=UserOut | None)
async def me(principal: CurrentUser, session: SessionDep) -> UserOut | None:
    """The signed-in user (null for the admin token)."""
    if principal.user_id is None:
        return None
    user = await session.get(User, principal.user_id)
    return UserOut.model_validate(user) if user else None


@router.get("/users", response_model=list[UserOut])
async def list_users(principal: CurrentUser, session: SessionDep) -> list[UserOut]:
    service.require_role(principal, *USER_READERS)
    users = await session.scalars(select(User).order_by(User.username))
    return [UserOut.model_validate(u) for u in users]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserIn, principal: CurrentUser, session: SessionDep) -> UserOut:
    service.require_role(principal)
    _check_link(body.role, body.agent_id)
    user = User(username=body.username, display_name=body.display_name, role=body.role,
                password_hash=passwords.hash_password(body.password), agent_id=body.agent_id,
                team=body.team, is_active=True)
    session.add(user)
    await _commit(session, body.agent_id)
    return UserOut.model_validate(user)


@router.patch("/users/{user_id}", response_model=UserOut)
async def patch_user(user_id: uuid.UUID, body: UserPatch, principal: CurrentUser,
                     session: SessionDep, clock: ClockDep) -> UserOut:
    service.require_role(principal)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    changes = body.model_dump(exclude_unset=True)
    _check_link(changes.get("role", user.role), changes.get("agent_id", user.agent_id))
    if (password := changes.pop("password", None)) is not None:
        user.password_hash = passwords.hash_password(password)
    for field, value in changes.items():
        setattr(user, field, value)
    if password is not None or changes.get("is_active") is False or "role" in changes:
        await service.revoke_all(session=session, user_id=user.id,
                                 now=clock.now())
    await _commit(session, changes.get("agent_id"))
    return UserOut.model_validate(user)


async def _commit(session, agent_id: uuid.UUID | None) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if agent_id is not None and "users_agent_id" in str(exc.orig):  # uq_ or fk_
            raise AgentTaken() from exc
        raise UsernameTaken() from exc
