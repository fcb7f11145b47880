"""Sign-in and user accounts over HTTP (R20)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.auth.models import RoleName

USERNAME = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    username: str
    display_name: str
    role: RoleName
    agent_id: uuid.UUID | None
    team: str | None
    is_active: bool


class LoginOut(BaseModel):
    token: str
    expires_at: datetime
    user: UserOut


def _password_ok(value: str | None) -> str | None:
    if value is not None and (len(value) < 10 or value.strip() != value or value.isdigit()):
        raise ValueError("a password needs at least 10 characters, not only digits, "
                         "without leading or trailing spaces")
    return value


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME)
    display_name: str = Field(min_length=1, max_length=200)
    role: RoleName
    password: str = Field(max_length=256)
    agent_id: uuid.UUID | None = None
    team: str | None = Field(None, min_length=1, max_length=100)

    _password = field_validator("password")(_password_ok)

    @field_validator("username", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, min_length=1, max_length=200)
    role: RoleName | None = None
    password: str | None = Field(None, max_length=256)
    agent_id: uuid.UUID | None = None
    team: str | None = Field(None, min_length=1, max_length=100)
    is_active: bool | None = None

    _password = field_validator("password")(_password_ok)

    @model_validator(mode="after")
    def _no_null_for_required(self) -> "UserPatch":
        """Leave a field out to keep it; null only clears `agent_id` and `team`."""
        nulled = [name for name in ("display_name", "role", "password", "is_active")
                  if name in self.model_fields_set and getattr(self, name) is None]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self
