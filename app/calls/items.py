"""What flows through a call's queue besides ARI events (our timers, results and requests), and
the live state of an inbound call and of its parts: an offer to an agent's phone, a warm
transfer's consultation, a caller's message. Each part's own state is a small machine of
`app.calls.state` (a StrEnum and a table), not a set of booleans (#14)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from app.ari.events import AriEvent, channel_id_of
from app.ari.models import Channel
from app.calls.state import (
    CallState, ConsultEvent, ConsultState, MessageEvent, MessageState, OfferEvent, OfferState,
    next_consult_state, next_message_state, next_offer_state, next_state,
)
from app.errors import AppError
from app.surveys.rules import SurveyState
from ivr import interpreter as ivr
from ivr.runtime import ActiveMenu
from routing.engine import OfferMade
from routing.overflow import ToVoicemail
from routing.strategies import Level


@dataclass(frozen=True)
class GraceElapsed:
    """Our own timer: the caller had their chance to hang up first."""

    channel_id: str


@dataclass(frozen=True)
class IvrTimer:
    channel_id: str
    token: int


@dataclass(frozen=True)
class LookupResult:
    channel_id: str
    token: int
    answer: tuple[str, ...] | None


@dataclass(frozen=True)
class RingLimit:
    """R1: the offered agent has had the ring limit to answer."""

    channel_id: str
    offer_id: uuid.UUID


@dataclass(frozen=True)
class MaxWait:
    """The call waited its queue's maximum: overflow."""

    channel_id: str


@dataclass(frozen=True)
class Announce:
    """Time to tell the waiting caller their position and expected wait again."""

    channel_id: str


@dataclass(frozen=True)
class Transfer:
    """From the API (R12): `blind` to a queue or another agent; `warm` to consult an agent while
    the caller holds, then `complete` (the caller goes to that agent) or `cancel`."""

    channel_id: str
    queue: str | None
    agent_id: uuid.UUID | None
    done: asyncio.Future[None] = field(compare=False, repr=False)
    action: str = "blind"
    escalate: bool = False  # R10: only a senior agent may take it


@dataclass(frozen=True)
class ConsultRingLimit:
    channel_id: str
    offer_id: uuid.UUID


class TransferRefused(AppError):
    status_code = 409
    error_id = "transfer-refused"
    message = "the call cannot be transferred now"


@dataclass(frozen=True)
class SurveyTimer:
    """R17: the customer pressed no key after the survey question (inbound and call-backs;
    `channel_id` is the call's key)."""

    channel_id: str
    token: int


@dataclass(frozen=True)
class Resync:
    """After a (re)connect: the channel as Asterisk has it now (None: gone). `done` is set once
    the call has been lined up with it (reconciliation waits for every call's)."""

    channel_id: str
    channel: Channel | None
    done: asyncio.Future[None] | None = field(default=None, compare=False, repr=False)


Item = (AriEvent | GraceElapsed | IvrTimer | LookupResult | RingLimit | MaxWait | Announce
        | OfferMade | Transfer | ConsultRingLimit | Resync | SurveyTimer)
OWN_ITEMS = (GraceElapsed, IvrTimer, LookupResult, RingLimit, MaxWait, Announce, OfferMade,
             Transfer, ConsultRingLimit, Resync, SurveyTimer)


@dataclass
class LiveOffer:
    """An agent's phone offered the call: from the queue, to a named agent, or to consult."""

    id: uuid.UUID
    agent_id: uuid.UUID
    channel_id: str          # the agent's leg
    offered_at: datetime
    call_id: uuid.UUID | None = None
    ringing_at: datetime | None = None
    met_at: float | None = None  # queue-to-ring latency's start (`routing.engine.OfferMade`)
    pop: asyncio.Task[Any] | None = field(default=None, repr=False)  # the screen pop, building
    state: OfferState = OfferState.dialling

    def step(self, event: OfferEvent) -> None:
        self.state = next_offer_state(self.state, event)


@dataclass
class Consultation:
    """A warm transfer under way (R12): the colleague's offer and where the consultation is."""

    offer: LiveOffer
    state: ConsultState = ConsultState.ringing

    def step(self, event: ConsultEvent) -> None:
        self.state = next_consult_state(self.state, event)

    @property
    def talking(self) -> bool:
        return self.state is ConsultState.talking


@dataclass
class LiveCall:
    id: uuid.UUID
    channel_id: str
    state: CallState
    language: str
    seq: int
    last_seen_at: datetime
    caller_number: str | None = None
    customer_id: uuid.UUID | None = None  # R14: matched or created on arrival
    persisted: bool = True
    failed: bool = False
    hangup_requested: bool = False  # the channel is going away: start nothing new on it
    hangup_cause: int | None = None
    menu: ActiveMenu | None = None
    facts: ivr.Facts = field(default_factory=ivr.Facts)
    ivr: ivr.IvrState | None = None
    ivr_node: str | None = None
    ivr_steps: int | None = None         # steps of the menu path stored (None: not known yet)
    recording: str | None = None      # the message's recording (its ARI name), once started
    message: MessageState = MessageState.none  # R8: the message under way, or the last one
    left_message: bool = False           # R8: a message of the caller's was kept
    overflowed: bool = False             # no agent could take it (R8: a call-back or a message)
    voicemail: ToVoicemail | None = None  # the queue's voicemail overflow the caller is in
    queue: str | None = None
    priority: int = 0                    # R11: important customers first
    min_level: Level | None = None       # R10: senior after an escalation or for a major complaint
    enqueued_at: datetime | None = None
    excluded: set[uuid.UUID] = field(default_factory=set)  # agents who missed this call
    offer: LiveOffer | None = None
    agent_id: uuid.UUID | None = None   # the agent on the call now
    owner_id: uuid.UUID | None = None   # the first who answered: stays the owner (R12)
    agent_channel: str | None = None
    agent_hung_up: bool = False
    consult: Consultation | None = None  # a warm transfer under way (R12)
    survey: SurveyState | None = None    # R17: the rating after the agent hung up
    recording_notice: bool = False       # R16: the caller was told the call may be recorded
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict, repr=False)
    lookup: asyncio.Task[None] | None = field(default=None, repr=False)

    next_state: ClassVar = staticmethod(next_state)  # the inbound call's table

    @property
    def key(self) -> str:
        return self.channel_id

    @property
    def customer_channel(self) -> str:
        return self.channel_id

    def message_step(self, event: MessageEvent) -> None:
        self.message = next_message_state(self.message, event)


def item_channel_id(item: Item) -> str | None:
    """Which call's queue an item belongs in (its channel id)."""
    if isinstance(item, OWN_ITEMS):
        return item.channel_id
    return channel_id_of(item)
