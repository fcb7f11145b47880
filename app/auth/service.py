"""Who is calling our API (R20): users signed in with a password get an expiring session; the
admin token from settings stays for set-up and automation. Roles decide what each route allows.

A session token is 32 random bytes handed to the client once (as a bearer token and an HttpOnly
cookie); only its SHA-256 is stored. It ends at sign-out, after `session_hours`, after
`session_idle_minutes` without use, or when the user is deactivated or changes password.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import passwords
from app.auth.models import LoginAttempt, RoleName, User, UserSession
from app.config import Settings
from app.errors import AppError, Forbidden, Unauthorized

COOKIE = "hotline_session"
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often per session
IP_FAILURE_FACTOR = 8  # one address may fail this many times the per-user limit (a shared NAT)


@dataclass(frozen=True)
class Principal:
    subject: str                       # the user name, or "admin-token"
    role: RoleName
    user_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None  # the ACD agent an agent user works as
    team: str | None = None            # the team a team lead leads
    session_id: uuid.UUID | None = None


class BadCredentials(Unauthorized):
    error_id = "bad-credentials"
    message = "wrong user name or password"


class UnknownToken(Unauthorized):
    """A token that names no session at all (a guess, not an ended session): counted (#20)."""


class TooManyAttempts(AppError):
    status_code = 429
    error_id = "too-many-attempts"
    message = "too many failed sign-ins; try again later"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(*, session: AsyncSession, settings: Settings, now: datetime,
                       authorization: str | None, cookie: str | None) -> Principal:
    """A principal from `Authorization: Bearer <token>` or the session cookie; 401 otherwise."""
    token = _bearer(authorization) or (cookie or "").strip() or None
    if token is None:
        raise Unauthorized()
    admin = settings.admin_token.get_secret_value().encode()
    if hmac.compare_digest(token.encode(), admin):
        return Principal(subject="admin-token", role=RoleName.admin)
    row = (await session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash(token)))).first()
    if row is None:
        raise UnknownToken()
    user_session, user = row
    idle = timedelta(minutes=settings.session_idle_minutes)
    if (user_session.revoked_at is not None or now >= user_session.expires_at
            or now - user_session.last_seen_at >= idle or not user.is_active):
        raise Unauthorized("the session has ended; sign in again")
    if now - user_session.last_seen_at >= TOUCH_EVERY:
        user_session.last_seen_at = now
        await session.commit()
    return principal_of(user, session_id=user_session.id)


def principal_of(user: User, *, session_id: uuid.UUID | None = None) -> Principal:
    return Principal(subject=user.username, role=RoleName(user.role), user_id=user.id,
                     agent_id=user.agent_id, team=user.team, session_id=session_id)


async def sign_in(*, session: AsyncSession, settings: Settings, now: datetime, username: str,
                  password: str, ip: str | None) -> tuple[str, UserSession, User]:
    """Check the password (rate-limited per user name and per address); open a session.

    The limits hold against guesses sent all at once (R20): under locks on the user name and on
    the address, the recent failures are counted and this attempt is stored as one, and that is
    committed before the password is checked. So every count sees the attempts already let
    through, and the locks are held for a count and an insert only: sign-ins from one address
    (a call centre's NAT) still check their passwords side by side. A right password turns the
    attempt into a success."""
    username = username.strip().lower()
    since = now - timedelta(minutes=settings.login_window_minutes)
    # Name first, then address, always in this order (no deadlock between two sign-ins).
    for key in (f"login:{username}", f"login-ip:{ip}" if ip else None):
        if key is not None:
            await session.execute(select(func.pg_advisory_xact_lock(
                func.hashtextextended(key, 0))))
    failures = select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ok.is_(False), LoginAttempt.at >= since)
    by_user = await session.scalar(failures.where(LoginAttempt.username == username))
    by_ip = await session.scalar(failures.where(LoginAttempt.ip == ip)) if ip else 0
    if (by_user or 0) >= settings.login_max_failures or (
            (by_ip or 0) >= settings.login_max_failures * IP_FAILURE_FACTOR):
        raise TooManyAttempts(retry_after_seconds=int(settings.login_window_minutes * 60))
    attempt = LoginAttempt(at=now, username=username, ip=ip, ok=False)
    session.add(attempt)
    await session.commit()  # counted (as a failure until proven right); the locks are released
    user = await session.scalar(select(User).where(User.username == username))
    # argon2 takes ~0.1 s of CPU: off the event loop, which is driving calls
    ok = await asyncio.to_thread(passwords.verify, user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise BadCredentials()
    attempt.ok = True
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
    token = secrets.token_urlsafe(32)
    opened = UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                         last_seen_at=now, ip=ip,
                         expires_at=now + timedelta(hours=settings.session_hours))
    session.add(opened)
    await session.commit()
    return token, opened, user


async def sign_out(*, session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(UserSession).where(UserSession.id == session_id,
                                                    UserSession.revoked_at.is_(None))
                          .values(revoked_at=now))
    await session.commit()


async def revoke_all(*, session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """End every session of a user (deactivated, password changed)."""
    await session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                                    UserSession.revoked_at.is_(None))
                          .values(revoked_at=now))


async def live_sessions(*, session: AsyncSession, user_id: uuid.UUID, now: datetime,
                        idle: timedelta) -> int:
    """Sessions of this user still usable (not signed out, expired or idle too long)."""
    return await session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > now, UserSession.last_seen_at > now - idle)) or 0


def require_role(principal: Principal, *allowed: RoleName) -> None:
    """Admins may do everything; others only what the route allows."""
    if principal.role is RoleName.admin or principal.role in allowed:
        return
    raise Forbidden()
