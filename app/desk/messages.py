"""What the agent desktop's WebSocket carries, server to page. One model per message type; the
notifier builds them and nothing else formats desk payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.customers.schemas import ComplaintBrief, PastCall


class IvrStep(BaseModel):
    node: str
    input: str
    outcome: str


class Caller(BaseModel):
    number: str | None          # E.164: the agent's own current call (R3)
    number_national: str | None
    name: str
    important: bool             # R11
    language: str               # the call's language (R5)
    customer_id: uuid.UUID | None
    address: str
    notes: str


class ScreenPop(BaseModel):
    """R3, R14: who is calling and their history, shown while the phone still rings."""

    type: Literal["offer"] = "offer"
    offer_id: uuid.UUID
    call_id: uuid.UUID
    kind: Literal["queue", "consult"]
    queue: str | None
    caller: Caller
    ivr_path: list[IvrStep]
    enqueued_at: datetime | None
    ringing_at: datetime | None = None
    waited_seconds: float       # in the queue until the phone started ringing
    apology_due: bool           # R1: the caller waited past the ring limit: apologise first
    previous_calls: list[PastCall]
    open_complaints: list[ComplaintBrief]


class OfferEnded(BaseModel):
    type: Literal["offer_ended"] = "offer_ended"
    offer_id: uuid.UUID
    call_id: uuid.UUID
    outcome: str                # answered elsewhere: cancelled; no_answer (R1: missed), ...


class Connected(BaseModel):
    type: Literal["connected"] = "connected"
    offer_id: uuid.UUID
    call_id: uuid.UUID
    apology_due: bool


class CallEnded(BaseModel):
    type: Literal["call_ended"] = "call_ended"
    call_id: uuid.UUID
    hangup_by: str | None


class AgentStateMessage(BaseModel):
    type: Literal["agent_state"] = "agent_state"
    agent_id: uuid.UUID
    state: str
    reason: str | None
    since: datetime
    wrap_up_until: datetime | None  # R13: when after-call work ends by itself
    call_id: uuid.UUID | None


class CallbackProgress(BaseModel):
    """R17: the agent's call-back: their phone rings (`ringing`), the customer is being dialled
    (`dialing`), is on the line (`connected`), or it is over (`ended`, with the outcome)."""

    type: Literal["callback"] = "callback"
    attempt_id: uuid.UUID
    task_id: uuid.UUID
    call_id: uuid.UUID
    stage: Literal["ringing", "dialing", "connected", "ended"]
    outcome: str | None = None   # answered, no_answer, busy, failed
    customer_name: str | None = None
    customer_number: str | None = None  # the agent's own call-back: in full (R20)


class Notice(BaseModel):
    """R15: something a lead must see at once, e.g. a major or crisis complaint (to the
    department head and the team leads and managers watching). No customer number in it."""

    type: Literal["notice"] = "notice"
    kind: str                   # urgent_complaint
    text: str
    complaint_id: uuid.UUID | None = None
    complaint_number: str | None = None
    severity: str | None = None
    department: str | None = None
    at: datetime


DeskMessage = (ScreenPop | OfferEnded | Connected | CallEnded | AgentStateMessage
               | CallbackProgress | Notice)
