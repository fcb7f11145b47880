"""What the call-back API takes and returns (R8, R15, R17)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class TaskOut(BaseModel):
    """A call-back task; `customer_number` is masked for roles with no need for it (R20)."""

    id: uuid.UUID
    source: str                 # voicemail, no_agent, abandoned, complaint
    customer_number: str | None
    customer_name: str | None
    complaint_id: uuid.UUID | None
    complaint_number: str | None
    call_id: uuid.UUID | None   # the call it came from
    has_voicemail: bool
    created_at: datetime
    due_at: datetime | None
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None
    status: str                 # open, in_progress, done, unreachable, cancelled
    last_outcome: str | None    # answered, no_answer, busy, failed


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agent_id: uuid.UUID | None
    call_id: uuid.UUID | None   # the outbound call, with its timeline: GET /api/calls/{id}
    started_at: datetime
    agent_answered_at: datetime | None
    customer_answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    reason: str | None          # why a failed attempt failed (agent_no_answer, dial_error, ...)


class TaskDetail(TaskOut):
    attempt_log: list[AttemptOut]


class AttemptIn(BaseModel):
    """Who calls: an agent (default: the signed-in user's own)."""

    model_config = ConfigDict(extra="forbid")
    agent_id: uuid.UUID | None = None


class AttemptStarted(BaseModel):
    attempt_id: uuid.UUID
    call_id: uuid.UUID
