"""What the call API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class CallEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    from_state: str
    trigger: str
    to_state: str
    detail: dict[str, Any]


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: str
    direction: str
    caller_number: str | None
    caller_name: str | None
    dialed_number: str | None
    language: str
    state: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    hangup_by: str | None
    hangup_cause: int | None
    ivr_version_id: int | None
    ivr_node: str | None
    ivr_outcome: str | None


class IvrStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    node: str
    input: str
    outcome: str


class CallDetail(CallOut):
    timeline: list[CallEventOut]
    ivr_path: list[IvrStepOut]


class CallPage(BaseModel):
    items: list[CallOut]
    next_cursor: str | None
