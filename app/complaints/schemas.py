"""Complaint intake over HTTP (R14): what an agent types within 30 seconds of talk."""

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
