"""What the call API returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field


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
    queue: str | None
    priority: int
    enqueued_at: datetime | None
    agent_id: uuid.UUID | None
    connected_at: datetime | None
    apology_due: bool
    customer_id: uuid.UUID | None = None
    disposition: str | None = None   # R6: what the agent said the call was about
    notes: str = ""
    disposition_at: datetime | None = None
    satisfaction: int | None = None  # R17: the caller's survey score, 1-5

    @computed_field
    @property
    def wait_seconds(self) -> float | None:
        """From entering the queue to an agent answering (or to the end, if none did)."""
        if self.enqueued_at is None:
            return None
        until = self.connected_at or self.ended_at
        return None if until is None else round((until - self.enqueued_at).total_seconds(), 3)

    @computed_field
    @property
    def talk_seconds(self) -> float | None:
        if self.connected_at is None or self.ended_at is None:
            return None
        return round((self.ended_at - self.connected_at).total_seconds(), 3)


class IvrStepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    node: str
    input: str
    outcome: str


class DispositionIn(BaseModel):
    """R6: consultation, inquiry, complaint or other, and the agent's notes."""

    model_config = ConfigDict(extra="forbid")
    disposition: Literal["consultation", "inquiry", "complaint", "other"]
    notes: str = Field("", max_length=10000)


class OfferOut(BaseModel):
    """One offer of the call to an agent, with its three-ring figures (R1)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agent_id: uuid.UUID
    queue: str
    offered_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    ring_seconds: float | None
    rings: int | None
    pop_sent_at: datetime | None = None   # R3: the screen pop, sent and shown
    pop_shown_at: datetime | None = None


class CallDetail(CallOut):
    timeline: list[CallEventOut]
    ivr_path: list[IvrStepOut]
    offers: list[OfferOut]


class CallPage(BaseModel):
    items: list[CallOut]
    next_cursor: str | None
