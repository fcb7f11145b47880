"""The customer archive over HTTP (R14), with numbers masked where a role has no need (R20)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.customers.numbers import mask, national, normalise

LANGUAGE = r"^[a-z]{2,3}$"


class PastCall(BaseModel):
    id: uuid.UUID
    started_at: datetime
    queue: str | None
    agent_name: str | None
    end_reason: str | None
    disposition: str | None
    notes: str


class ComplaintBrief(BaseModel):
    id: uuid.UUID
    number: str
    status: str
    severity: str
    summary: str
    created_at: datetime
    dispatch_due_at: datetime | None
    handling_due_at: datetime | None
    overdue: list[str]  # which deadlines have passed: "dispatch", "handling"

    @classmethod
    def of(cls, complaint: Any, now: datetime) -> "ComplaintBrief":
        overdue = []
        if complaint.status == "received" and complaint.dispatch_due_at and now > complaint.dispatch_due_at:
            overdue.append("dispatch")
        if complaint.handling_due_at and now > complaint.handling_due_at and complaint.status in (
                "received", "dispatched", "in_progress", "reopened"):
            overdue.append("handling")
        return cls(id=complaint.id, number=complaint.number, status=complaint.status,
                   severity=complaint.severity, summary=complaint.summary,
                   created_at=complaint.created_at, dispatch_due_at=complaint.dispatch_due_at,
                   handling_due_at=complaint.handling_due_at, overdue=overdue)


class CustomerOut(BaseModel):
    id: uuid.UUID
    phone: str | None           # E.164, or masked (138****8000) for roles without the need
    phone_national: str | None  # what a person dials, e.g. 13800138000 (masked likewise)
    masked: bool
    name: str
    address: str
    important: bool
    preferred_language: str | None
    notes: str
    created_at: datetime
    updated_at: datetime


class CustomerDetail(CustomerOut):
    calls: list[PastCall]
    open_complaints: list[ComplaintBrief]


class CustomerPatch(BaseModel):
    """What agents may edit. The number is re-normalised; a number that is not one is refused."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=2000)
    important: bool | None = None
    preferred_language: str | None = Field(None, pattern=LANGUAGE)
    notes: str | None = Field(None, max_length=10000)
    phone: str | None = Field(None, max_length=40)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        e164 = normalise(value)
        if e164 is None:
            raise ValueError("not a phone number (e.g. 13800138000, 010-12345678, +8613800138000)")
        return e164

    @field_validator("name", "address", "notes")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if value is not None else None


def phone_fields(phone: str | None, *, full: bool) -> dict[str, Any]:
    if phone is None:
        return {"phone": None, "phone_national": None, "masked": not full}
    if full:
        return {"phone": phone, "phone_national": national(phone), "masked": False}
    return {"phone": mask(phone), "phone_national": mask(phone), "masked": True}
