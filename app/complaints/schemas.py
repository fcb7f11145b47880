"""Complaints over HTTP: intake (R14: what an agent types within 30 seconds of talk) and the
R15 workflow (transitions, owner, severity, deadlines, timeline, departments)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.customers.numbers import normalise


class Severity(StrEnum):
    """R6: general, or major / crisis (R10: seniors; R15: the department head at once)."""

    general = "general"
    major = "major"
    crisis = "crisis"


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    call_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    customer_name: str = Field(min_length=1, max_length=200)
    phone: str = Field(max_length=40)
    address: str = Field("", max_length=2000)
    responsible_person: str = Field("", max_length=200)
    summary: str = Field(min_length=1, max_length=10000)
    severity: Severity = Severity.general
    # Optional at intake: the department it concerns (a major one reaches its head at once).
    department_id: uuid.UUID | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        e164 = normalise(value)
        if e164 is None:
            raise ValueError("not a phone number (e.g. 13800138000, 010-12345678, +8613800138000)")
        return e164

    @field_validator("customer_name", "address", "responsible_person", "summary", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        """Trimmed before the length checks, so a blank name or summary is refused."""
        return value.strip() if isinstance(value, str) else value


class DeadlineOut(BaseModel):
    name: str          # dispatch, handling, callback, callback_limit
    due_at: datetime
    overdue: bool


class ComplaintOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: str               # what the caller keys in to hear its status (R7)
    status: str
    severity: str
    customer_id: uuid.UUID | None
    customer_name: str
    customer_number: str
    address: str
    responsible_person: str
    summary: str
    call_id: uuid.UUID | None
    owner_agent_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    dispatch_due_at: datetime | None
    handling_due_at: datetime | None
    department_id: uuid.UUID | None = None
    assignee_user_id: uuid.UUID | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    called_back_at: datetime | None = None
    closed_at: datetime | None = None
    callback_due_at: datetime | None = None
    callback_deadline_at: datetime | None = None
    callback_attempts: int = 0
    satisfaction: int | None = None
    reopened_count: int = 0
    # R15, at the time of the answer: the deadlines still to meet, which of them are overdue,
    # and the states the workflow allows next.
    deadlines: list[DeadlineOut] = []
    overdue: list[str] = []
    next_states: list[str] = []


class _Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=2000)

    @field_validator("note", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class TransitionIn(_Note):
    to: str = Field(max_length=32)
    department_id: uuid.UUID | None = None    # dispatching: where to
    assignee_user_id: uuid.UUID | None = None  # dispatching: who handles it there


class OwnerIn(_Note):
    owner_agent_id: uuid.UUID


class SeverityIn(_Note):
    severity: Severity


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    user_id: uuid.UUID | None
    actor: str
    from_status: str | None
    to_status: str | None
    event: str
    note: str
    detail: dict


class DepartmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    head_user_id: uuid.UUID | None = None
    webhook_url: str | None = Field(None, max_length=500, pattern=r"^https?://\S+$")

    @field_validator("name", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class DepartmentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=100)
    head_user_id: uuid.UUID | None = None
    webhook_url: str | None = Field(None, max_length=500, pattern=r"^https?://\S+$")


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    head_user_id: uuid.UUID | None
    head_name: str | None = None  # the head's display name (the page offers them as assignee)
    webhook_url: str | None
