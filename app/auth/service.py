"""Turning a bearer token into a principal. Today: the admin token from settings; user sign-in
with hashed passwords and expiring sessions arrives with the agent desktop."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from app.auth.models import RoleName
from app.config import Settings
from app.errors import Forbidden, Unauthorized


@dataclass(frozen=True)
class Principal:
    subject: str
    role: RoleName


def authenticate(*, authorization: str | None, settings: Settings) -> Principal:
    """Validate an `Authorization: Bearer <token>` header value."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    if hmac.compare_digest(token.strip().encode(), settings.admin_token.get_secret_value().encode()):
        return Principal(subject="admin-token", role=RoleName.admin)
    raise Unauthorized()


def require_role(principal: Principal, *allowed: RoleName) -> None:
    """Admins may do everything; others only what the route allows."""
    if principal.role is RoleName.admin or principal.role in allowed:
        return
    raise Forbidden()
