"""The inbound call flow, one call at a time: each item of a call (an ARI event or one of our own
timers and results) is handled here in order, by the dispatcher's worker for that call.

A call is answered at once (R1), then the voice menu runs (`ivr.interpreter`, pure): its actions
(play, stop on barge-in, timers, lookups, recording, language, queue, hang-up) are carried out
here against the telephony port. A call handed to a queue waits with music on hold until the
ACD (`routing.engine`) offers it to an agent; the agent's phone rings at most the ring limit
(R1: rings x cadence), else the call goes at once to the next agent at the head of the queue
and the agent who missed it is paused; on answer caller and agent are bridged, with an apology
first if the caller waited for a human longer than the ring limit. A call with no queue, or that
waited longer than its queue's maximum, hears that we will call back (a call-back task, R8).
The closing thanks (R2) give the caller a moment to hang up first. If anything fails the caller hears an apology and
a clean hang-up, never silence.

Every state change goes through `_fire`, the one choke point that checks the transition, logs
`from -> trigger -> to` and writes it to the call's timeline in Postgres.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    AriEvent, ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelStateChange,
    PlaybackFinished, RecordingFailed, RecordingFinished, StasisEnd, StasisStart, channel_id_of,
)
from app.ari.models import Channel
from app.callbacks import service as callbacks
from app.callbacks.models import CallbackSource
from app.calls import service
from app.calls.state import CallState, EndReason, Trigger, ending, next_state
from app.clock import Clock
from app.complaints import service as complaints
from app.customers import service as customers
from app.config import Settings
from app.errors import AppError
from app.telephony import Telephony
from ivr import interpreter as ivr
from ivr import service as ivr_store
from ivr.lookup import LookupFailed, Lookups
from ivr.menu import HangupNode
from ivr.runtime import ActiveMenu, MenuRuntime
from routing import offers as offer_store
from routing import ring_rule
from routing.engine import Acd, OfferMade
from routing.ring_rule import OfferOutcome
from routing.strategies import Level

log = structlog.get_logger(__name__)

# The system prompt that plays in these states (prompts/system.yaml); playback "<call>.<state>".
SYSTEM_PROMPTS = {
    CallState.closing: ("queue_unavailable", "thanks"),
    CallState.failing: ("technical_problem",),
}


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
class Resync:
    """After a (re)connect: the channel as Asterisk has it now (None: gone)."""

    channel_id: str
    channel: Channel | None


Item = (AriEvent | GraceElapsed | IvrTimer | LookupResult | RingLimit | MaxWait | Announce
        | OfferMade | Transfer | ConsultRingLimit | Resync)
OWN_ITEMS = (GraceElapsed, IvrTimer, LookupResult, RingLimit, MaxWait, Announce, OfferMade,
             Transfer, ConsultRingLimit, Resync)


@dataclass
class LiveOffer:
    id: uuid.UUID
    agent_id: uuid.UUID
    channel_id: str          # the agent's leg
    offered_at: datetime
    ringing_at: datetime | None = None


@dataclass
class LiveCall:
    id: uuid.UUID
    channel_id: str
    state: CallState
    language: str
    seq: int
    last_seen_at: datetime
    caller_number: str | None = None
    persisted: bool = True
    failed: bool = False
    hangup_requested: bool = False  # the channel is going away: start nothing new on it
    hangup_cause: int | None = None
    menu: ActiveMenu | None = None
    facts: ivr.Facts = field(default_factory=ivr.Facts)
    ivr: ivr.IvrState | None = None
    ivr_node: str | None = None
    recording: str | None = None      # the voicemail being recorded (its ARI name)
    left_message: bool = False
    queue: str | None = None
    priority: int = 0                    # R11: important customers first
    min_level: Level | None = None       # R10: senior after an escalation
    enqueued_at: datetime | None = None
    excluded: set[uuid.UUID] = field(default_factory=set)  # agents who missed this call
    offer: LiveOffer | None = None
    agent_id: uuid.UUID | None = None   # the agent on the call now
    owner_id: uuid.UUID | None = None   # the first who answered: stays the owner (R12)
    agent_channel: str | None = None
    agent_hung_up: bool = False
    consult: LiveOffer | None = None     # warm transfer: the consulted agent's leg
    consult_answered: bool = False
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict, repr=False)
    lookup: asyncio.Task[None] | None = field(default=None, repr=False)


class CallFlow:
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 menus: MenuRuntime, lookups: Lookups, acd: Acd, submit: Any) -> None:
        self.settings = settings
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self.menus = menus
        self.lookups = lookups
        self.acd = acd
        self._submit = submit  # (channel_id, item) -> None: back into the call's own queue
        self.calls: dict[str, LiveCall] = {}
        # Agents' legs -> the caller's channel: their events go into the caller's queue.
        self.legs: dict[str, str] = {}

    def channel_of(self, call_id: uuid.UUID) -> str | None:
        """The caller's channel of a live call."""
        return next((c.channel_id for c in self.calls.values() if c.id == call_id), None)

    # -- entry point ------------------------------------------------------------------------
    async def handle(self, channel_id: str, item: Item) -> None:
        call = self.calls.get(channel_id)
        ids = {"channel_id": channel_id} | ({"call_id": str(call.id)} if call else {})
        with structlog.contextvars.bound_contextvars(**ids):
            if isinstance(item, StasisStart) and item.args[:1] not in (["agent"], ["consult"]):
                await self._arrived(item)
                return
            if call is None:
                if isinstance(item, OfferMade):  # the caller left before the offer reached us
                    await self.acd.offer_ended(item.agent_id, OfferOutcome.cancelled)
                if isinstance(item, Transfer) and not item.done.done():
                    item.done.set_exception(TransferRefused("the call has ended"))
                log.debug("call.item_for_unknown_channel", item=type(item).__name__)
                return
            if not isinstance(item, OWN_ITEMS):  # a sighting of the channel
                call.last_seen_at = max(call.last_seen_at, self.clock.now())
            try:
                await self._on_item(call, item)
            except AriNotFound as exc:
                # The channel vanished under us (the caller hung up): its StasisEnd follows.
                log.info("call.channel_vanished", state=call.state, error=str(exc))
                call.hangup_requested = True
            except Exception as exc:  # noqa: BLE001 - any failure: apology + hang-up
                await self._fail(call, exc)

    async def _on_item(self, call: LiveCall, item: Item) -> None:
        leg = getattr(getattr(item, "channel", None), "id", None)
        if leg is not None and leg != call.channel_id:
            await self._on_agent_leg(call, item)
            return
        match item:
            case ChannelDtmfReceived():
                if call.state is CallState.in_ivr and not call.hangup_requested:
                    await self._ivr_input(call, ivr.Digit(item.digit))
            case PlaybackFinished():
                await self._playback_finished(call, item.playback.id, item.timestamp)
            case RecordingFinished() | RecordingFailed():
                if item.recording.name == call.recording:
                    saved = isinstance(item, RecordingFinished) and await self._save_voicemail(
                        call, item.recording.duration)
                    if call.ivr is not None and not call.hangup_requested:
                        await self._ivr_input(call, ivr.RecordingDone(call.ivr.token, saved))
            case ChannelHangupRequest():
                call.hangup_requested = True
                call.hangup_cause = item.cause
            case StasisEnd() | ChannelDestroyed():
                if isinstance(item, ChannelDestroyed):
                    call.hangup_cause = call.hangup_cause or item.cause
                await self._gone(call, item.timestamp)
            case IvrTimer():
                if call.state is CallState.in_ivr:
                    await self._ivr_input(call, ivr.TimerFired(item.token))
            case LookupResult():
                if call.state is CallState.in_ivr:
                    await self._ivr_input(call, ivr.LookupDone(item.token, item.answer))
            case OfferMade():
                await self._offer(call, item)
            case Transfer():
                try:
                    action = {"blind": self._transfer, "warm": self._consult,
                              "complete": self._consult_complete,
                              "cancel": self._consult_cancel}[item.action]
                    await action(call, item)
                except Exception as exc:
                    if not item.done.done():
                        item.done.set_exception(exc)
                    if not isinstance(exc, AppError):
                        raise
                else:
                    item.done.set_result(None)
            case RingLimit():
                if call.offer is not None and call.offer.id == item.offer_id:
                    await self._offer_failed(call, OfferOutcome.no_answer)
            case ConsultRingLimit():
                if call.consult is not None and call.consult.id == item.offer_id and (
                        not call.consult_answered):
                    await self._consult_ended(call, OfferOutcome.no_answer)
            case MaxWait():
                if call.state is CallState.in_queue:
                    await self._overflow(call)
            case Announce():
                if call.state is CallState.in_queue and call.offer is None:
                    await self._announce(call)
            case GraceElapsed():
                if call.state is CallState.awaiting_hangup:
                    await self._fire(call, Trigger.grace_elapsed)
                    await self._hang_up(call)
            case Resync():
                await self._resync(call, item.channel)
            case _:
                log.debug("call.item_ignored", item=type(item).__name__)

    # -- arrival ----------------------------------------------------------------------------
    async def _arrived(self, event: StasisStart) -> None:
        channel = event.channel
        if channel.id in self.calls:
            log.info("call.duplicate_stasis_start")
            return
        if event.args[:1] not in ([], ["inbound"]):
            log.info("call.not_inbound", args=event.args)
            return
        started_at = channel.creationtime or event.timestamp or self.clock.now()
        language = self.settings.default_language
        try:
            async with self.sessions() as session, session.begin():
                row, seq = await service.open_call(
                    session=session, channel_id=channel.id, caller_number=channel.caller.number,
                    caller_name=channel.caller.name, dialed_number=channel.dialplan.exten,
                    language=language, started_at=started_at)
            if row.ended_at is not None:
                log.info("call.already_ended", call_id=str(row.id))
                return
            call = self._live(row, seq, last_seen_at=self.clock.now())
        except Exception as exc:  # noqa: BLE001 - the database is down: still serve the caller
            call = LiveCall(id=uuid.uuid4(), channel_id=channel.id, state=CallState.ringing,
                            language=language, seq=0, last_seen_at=self.clock.now(),
                            persisted=False)
            self.calls[channel.id] = call
            await self._fail(call, exc)
            return
        self.calls[channel.id] = call
        with structlog.contextvars.bound_contextvars(call_id=str(call.id)):
            log.info("call.arrived", caller=channel.caller.number, dialed=channel.dialplan.exten)
            try:
                if call.state is CallState.ringing:
                    await self._answer_and_start(call, already_up=False)
                else:  # known from before a restart: carry on where it was
                    await self._resync(call, channel)
            except AriNotFound:
                call.hangup_requested = True
            except Exception as exc:  # noqa: BLE001
                await self._fail(call, exc)

    async def _answer_and_start(self, call: LiveCall, *, already_up: bool) -> None:
        if not already_up:
            await self.telephony.answer(call.channel_id)  # R1: the system answers at once
        await self._fire(call, Trigger.answered, answered_at=self.clock.now())
        await self._start_ivr(call, at_node=None)

    async def _start_ivr(self, call: LiveCall, *, at_node: str | None) -> None:
        """Run the active menu from its start (or, after a restart, from the node it was at)."""
        call.menu = self.menus.current
        call.facts = await self._facts(call)
        doc, now = call.menu.doc, self.clock.now()
        if call.language not in doc.languages:
            call.language = doc.default_language
        if call.state is CallState.answered:
            await self._fire(call, Trigger.ivr_started, ivr_version_id=call.menu.version_id,
                             detail={"ivr_version": call.menu.version_id})
        if at_node is not None and at_node in doc.nodes:
            result = ivr.resume(doc, call.facts, at_node, now, language=call.language)
        else:
            result = ivr.start(doc, call.facts, now, language=call.language)
        await self._apply(call, result)

    async def _facts(self, call: LiveCall) -> ivr.Facts:
        """What we know of the caller before the menu: an open complaint (R6), important (R11)."""
        try:
            async with self.sessions() as session:
                open_complaint = await complaints.has_open(session=session,
                                                           customer_number=call.caller_number)
                customer = await customers.by_phone(session=session, number=call.caller_number)
            call.priority = customers.priority(customer)
        except Exception as exc:  # noqa: BLE001 - without it the caller takes the main menu
            log.warning("call.facts_unavailable", error=repr(exc))
            open_complaint = False
        return ivr.Facts(caller_number=call.caller_number, has_open_complaint=open_complaint)

    # -- the IVR ----------------------------------------------------------------------------
    async def _ivr_input(self, call: LiveCall, event: ivr.Input) -> None:
        if call.ivr is None or call.menu is None:
            return
        result = ivr.step(call.menu.doc, call.facts, call.ivr, event, self.clock.now())
        await self._apply(call, result)

    async def _apply(self, call: LiveCall, result: ivr.Result) -> None:
        """Carry out the interpreter's actions, in order."""
        call.ivr = result.state
        assert call.menu is not None
        if result.state.node != call.ivr_node:  # where the caller is now (kept for a restart)
            call.ivr_node = result.state.node
            await self._update_call(call, ivr_node=call.ivr_node)
        for action in result.actions:
            match action:
                case ivr.IvrStep():
                    await self._record_step(call, action)
                case ivr.Play():
                    media = [call.menu.media(self.settings.prompt_dir, name, call.language)
                             for name in action.prompts]
                    await self.telephony.play(call.channel_id, media,
                                              playback_id=f"{call.id}.ivr{action.token}",
                                              lang=call.language)
                case ivr.StopPlayback():
                    await self.telephony.stop_playback(f"{call.id}.ivr{action.token}")
                case ivr.StartTimer():
                    self._schedule(call, "ivr", action.seconds,
                                   IvrTimer(call.channel_id, action.token))
                case ivr.Lookup():
                    self._start_lookup(call, action)
                case ivr.Record():
                    call.recording = f"voicemail-{call.id}-{action.token}"
                    await self.telephony.record(call.channel_id, name=call.recording,
                                                max_seconds=action.max_seconds)
                case ivr.SetLanguage():
                    call.language = action.language
                    await self._update_call(call, language=action.language)
                case ivr.EnterQueue():
                    await self._enqueue(call, action)
                case ivr.Hangup():
                    await self._fire(call, Trigger.ivr_finished)
                    self._schedule(call, "grace", self.settings.closing_grace_seconds,
                                   GraceElapsed(call.channel_id))

    async def _enqueue(self, call: LiveCall, action: ivr.EnterQueue) -> None:
        """R9: wait for an agent with music on hold; no such queue: a call-back (R8)."""
        config = self.acd.queue(action.queue)
        if config is None:
            await self._no_agent(call, action.queue, f"no queue {action.queue!r} is set up")
            return
        if not self.acd.staffed(action.queue, action.language):
            await self._no_agent(call, action.queue, "no agent is logged in for this queue")
            return
        now = self.clock.now()
        call.queue, call.enqueued_at = action.queue, now
        await self._fire(call, Trigger.enqueued, ivr_outcome=f"queue:{action.queue}",
                         queue=action.queue, enqueued_at=now, priority=call.priority,
                         detail={"queue": action.queue, "call_type": action.call_type,
                                 "skills": list(action.skills), "language": action.language})
        await self.telephony.start_moh(call.channel_id, moh_class=config.moh_class)
        self._schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))
        await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=action.queue,
                               language=action.language, priority=call.priority, enqueued_at=now)
        if config.announce_every_seconds and call.id in self.acd.waiting:
            await self._announce(call)  # on entry, unless an agent was free at once

    async def _announce(self, call: LiveCall) -> None:
        """Position and estimated wait (R9), then the music again; and again after a while."""
        prompts = self.acd.announcement(call.id)
        config = self.acd.queue(call.queue or "")
        if prompts is None or config is None:
            return
        await self.telephony.play(call.channel_id, self._system_media(call, tuple(prompts)),
                                  playback_id=f"{call.id}.announce", lang=call.language)
        if config.announce_every_seconds:
            self._schedule(call, "announce", config.announce_every_seconds, Announce(call.channel_id))

    async def _no_agent(self, call: LiveCall, queue: str | None, why: str) -> None:
        """Nobody can take the call: say so, open a call-back task (R8), thank the caller."""
        async with self.sessions() as session, session.begin():
            await callbacks.open_task(
                session=session, source=CallbackSource.no_agent, customer_number=call.caller_number,
                language=call.language, call_id=call.id, note=why)
        await self._fire(call, Trigger.no_agent, detail={"queue": queue, "why": why},
                         **({"ivr_outcome": f"queue:{queue}"} if call.state is CallState.in_ivr
                            and queue else {}))
        await self._play_system(call)

    async def _offer(self, call: LiveCall, made: OfferMade) -> None:
        """Ring the agent the ACD chose; R1: at most the ring limit."""
        if call.state is not CallState.in_queue or call.hangup_requested:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            return
        now = self.clock.now()
        # An announcement holds the caller's channel until it ends (ARI runs a channel's
        # commands one at a time): stop it now, so the bridge is not kept waiting on answer.
        self._cancel_timer(call, "announce")
        await self._safely(self.telephony.stop_playback(f"{call.id}.announce"))
        leg = f"agent-{made.offer_id}"
        call.offer = LiveOffer(id=made.offer_id, agent_id=made.agent_id, channel_id=leg,
                               offered_at=now)
        self.legs[leg] = call.channel_id
        async with self.sessions() as session, session.begin():
            await offer_store.create(session=session, offer_id=made.offer_id, call_id=call.id,
                                     agent_id=made.agent_id, queue=made.queue, channel_id=leg,
                                     offered_at=now)
        self._schedule(call, "ring", self.settings.ring_limit_seconds,
                       RingLimit(call.channel_id, made.offer_id))
        try:
            await self.telephony.originate(
                f"PJSIP/trunk/{made.contact}", channel_id=leg, app_args=f"agent,{call.id}",
                caller_id=call.caller_number or "", timeout=int(self.settings.ring_limit_seconds) + 10)
        except AriError as exc:
            log.warning("call.offer_failed", agent=str(made.agent_id), error=str(exc))
            await self._offer_failed(call, OfferOutcome.busy)

    async def _on_agent_leg(self, call: LiveCall, item: Item) -> None:
        offer, leg = call.offer, item.channel.id  # type: ignore[union-attr]
        if call.consult is not None and leg == call.consult.channel_id:
            await self._on_consult_leg(call, item)
            return
        match item:
            case ChannelStateChange() if offer and leg == offer.channel_id:
                if item.channel.state == "Ringing" and offer.ringing_at is None:
                    offer.ringing_at = self.clock.now()
                    # R1 counts rings: the limit runs from the first ring, not from the dialling.
                    self._schedule(call, "ring", self.settings.ring_limit_seconds,
                                   RingLimit(call.channel_id, offer.id))
                    await self._update_offer(offer, ringing_at=offer.ringing_at)
            case StasisStart():
                await self._agent_answered(call, item)
            case ChannelDestroyed() | ChannelHangupRequest() if offer and leg == offer.channel_id:
                cause = item.cause or 0
                outcome = {17: OfferOutcome.busy, 21: OfferOutcome.rejected}.get(
                    cause, OfferOutcome.no_answer)
                await self._offer_failed(call, outcome, leg_gone=True)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest() if (
                    leg == call.agent_channel and call.consult_answered):
                # The consulting agent hangs up: that completes the warm transfer (R12).
                self.legs.pop(leg, None)
                call.agent_channel = None
                await self._consult_complete(call, None)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest() if (
                    leg == call.agent_channel and call.state is CallState.connected):
                # The agent hung up first (R2 says they should wait for the caller): end the call.
                call.agent_hung_up = True
                self.legs.pop(leg, None)
                call.agent_channel = None
                await self._end_agent_call(call)
                await self._hang_up(call)

    async def _agent_answered(self, call: LiveCall, event: StasisStart) -> None:
        offer = call.offer
        if offer is None or event.channel.id != offer.channel_id or call.state is not CallState.in_queue:
            self.legs.pop(event.channel.id, None)
            await self._safely(self.telephony.hangup(event.channel.id))  # too late: not wanted
            return
        now = self.clock.now()  # the offer's times all come from one clock
        for timer in ("ring", "max_wait", "announce"):
            self._cancel_timer(call, timer)
        await self._safely(self.telephony.stop_playback(f"{call.id}.announce"))
        call.offer, call.agent_id, call.agent_channel = None, offer.agent_id, offer.channel_id
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=now, ended_at=None,
                                       outcome=OfferOutcome.answered)
        cycle = self.settings.ring_cycle_seconds
        await self._update_offer(offer, answered_at=now, outcome=OfferOutcome.answered,
                                 ring_seconds=record.ring_seconds, rings=record.rings(cycle))
        await self.acd.offer_ended(offer.agent_id, OfferOutcome.answered)
        waited = (now - (call.enqueued_at or now)).total_seconds()
        apology = ring_rule.apology_due(waited, self.settings.ring_limit_seconds)
        await self._safely(self.telephony.stop_moh(call.channel_id))
        bridge = f"call-{call.id}"
        await self.telephony.create_bridge(bridge)
        await self.telephony.add_to_bridge(bridge, [call.channel_id, offer.channel_id])
        first = call.owner_id is None
        call.owner_id = call.owner_id or offer.agent_id
        owner = {"agent_id": offer.agent_id, "connected_at": now} if first else {}
        await self._fire(call, Trigger.agent_connected, apology_due=apology, **owner,
                         detail={"agent_id": str(offer.agent_id), "waited_seconds": round(waited, 3),
                                 "rings": record.rings(cycle), "apology_due": apology})
        if apology:  # R1: a call answered late starts with an apology (both hear it)
            await self._safely(self.telephony.play_on_bridge(
                bridge, self._system_media(call, ("apology",)), playback_id=f"{call.id}.apology"))

    async def _transfer(self, call: LiveCall, req: Transfer) -> None:
        """Blind transfer (R12): the agent leaves (and stays the call's owner in the records);
        the caller waits again with music, for a queue's next agent or for the named agent."""
        if call.state is not CallState.connected or call.agent_channel is None:
            raise TransferRefused("the call is not with an agent")
        if call.consult is not None:
            raise TransferRefused("a consultation is going on: complete or cancel it first")
        queue = req.queue or call.queue
        if queue is None or self.acd.queue(queue) is None:
            raise TransferRefused(f"no queue {queue!r}")
        made = None
        min_level = Level.senior if req.escalate else None
        if req.agent_id is not None:
            if req.agent_id == call.agent_id:
                raise TransferRefused("the call is with that agent already")
            made = await self.acd.reserve(req.agent_id, call_id=call.id,
                                          channel_id=call.channel_id, queue=queue,
                                          min_level=min_level)
        leg, call.agent_channel = call.agent_channel, None
        self.legs.pop(leg, None)
        await self._safely(self.telephony.hangup(leg))
        from_agent = call.agent_id
        await self._end_agent_call(call)
        call.agent_id, call.queue, call.excluded = None, queue, set()
        now = call.enqueued_at = self.clock.now()
        await self._fire(call, Trigger.transferred, queue=queue, enqueued_at=now,
                         detail={"from_agent": str(from_agent), "queue": queue,
                                 "to_agent": str(req.agent_id) if req.agent_id else None})
        config = self.acd.queue(queue)
        await self.telephony.start_moh(call.channel_id, moh_class=config.moh_class)
        self._schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))
        call.min_level = min_level or call.min_level
        if made is not None:
            await self._offer(call, made)
        else:
            await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=queue,
                                   language=call.language, priority=call.priority, enqueued_at=now,
                                   min_level=call.min_level)

    async def _consult(self, call: LiveCall, req: Transfer) -> None:
        """Warm transfer (R12): the caller holds with music while the agent briefs a colleague."""
        if call.state is not CallState.connected or call.agent_channel is None:
            raise TransferRefused("the call is not with an agent")
        if call.consult is not None:
            raise TransferRefused("a consultation is going on already")
        if req.agent_id is None or req.agent_id == call.agent_id:
            raise TransferRefused("a warm transfer names another agent")
        made = await self.acd.reserve(req.agent_id, call_id=call.id, channel_id=call.channel_id,
                                      queue=call.queue or "")
        bridge, now = f"call-{call.id}", self.clock.now()
        try:
            await self.telephony.remove_from_bridge(bridge, [call.channel_id])
            await self.telephony.start_moh(call.channel_id)
        except Exception:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            raise
        leg = f"consult-{made.offer_id}"
        call.consult, call.consult_answered = LiveOffer(
            id=made.offer_id, agent_id=made.agent_id, channel_id=leg, offered_at=now), False
        self.legs[leg] = call.channel_id
        async with self.sessions() as session, session.begin():
            await offer_store.create(session=session, offer_id=made.offer_id, call_id=call.id,
                                     agent_id=made.agent_id, queue=made.queue, channel_id=leg,
                                     offered_at=now)
        await self._fire(call, Trigger.consult_started, detail={"to_agent": str(req.agent_id)})
        self._schedule(call, "consult_ring", self.settings.ring_limit_seconds,
                       ConsultRingLimit(call.channel_id, made.offer_id))
        try:
            await self.telephony.originate(
                f"PJSIP/trunk/{made.contact}", channel_id=leg, app_args=f"consult,{call.id}",
                caller_id=call.caller_number or "", timeout=int(self.settings.ring_limit_seconds) + 10)
        except AriError:
            await self._consult_ended(call, OfferOutcome.busy, leg_gone=True)

    async def _on_consult_leg(self, call: LiveCall, item: Item) -> None:
        consult = call.consult
        assert consult is not None
        match item:
            case ChannelStateChange() if item.channel.state == "Ringing" and not consult.ringing_at:
                consult.ringing_at = self.clock.now()
                self._schedule(call, "consult_ring", self.settings.ring_limit_seconds,
                               ConsultRingLimit(call.channel_id, consult.id))
                await self._update_offer(consult, ringing_at=consult.ringing_at)
            case StasisStart() if not call.consult_answered:
                self._cancel_timer(call, "consult_ring")
                now = self.clock.now()
                record = ring_rule.OfferRecord(
                    offered_at=consult.offered_at, ringing_at=consult.ringing_at, answered_at=now,
                    ended_at=None, outcome=OfferOutcome.answered)
                await self._update_offer(consult, answered_at=now, outcome=OfferOutcome.answered,
                                         ring_seconds=record.ring_seconds,
                                         rings=record.rings(self.settings.ring_cycle_seconds))
                await self.acd.offer_ended(consult.agent_id, OfferOutcome.answered)
                await self.telephony.add_to_bridge(f"call-{call.id}", [consult.channel_id])
                call.consult_answered = True
                await self._fire(call, Trigger.consult_answered)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest():
                if call.consult_answered:  # the colleague hung up: back to the first agent
                    await self._consult_cancel(call, None, leg_gone=True)
                else:
                    cause = getattr(item, "cause", None) or 0
                    outcome = {17: OfferOutcome.busy, 21: OfferOutcome.rejected}.get(
                        cause, OfferOutcome.no_answer)
                    await self._consult_ended(call, outcome, leg_gone=True)

    async def _consult_ended(self, call: LiveCall, outcome: OfferOutcome, *,
                             leg_gone: bool = False, resume: bool = True) -> None:
        """The consulted agent did not answer (R1 applies to them too): back to the caller."""
        consult, call.consult = call.consult, None
        if consult is None:
            return
        self._cancel_timer(call, "consult_ring")
        self.legs.pop(consult.channel_id, None)
        if not leg_gone:
            await self._safely(self.telephony.hangup(consult.channel_id))
        now = self.clock.now()
        record = ring_rule.OfferRecord(offered_at=consult.offered_at, ringing_at=consult.ringing_at,
                                       answered_at=None, ended_at=now, outcome=outcome)
        ring_seconds = min(record.ring_seconds, self.settings.ring_limit_seconds)
        await self._update_offer(consult, ended_at=now, outcome=outcome, ring_seconds=ring_seconds,
                                 rings=ring_rule.rings(ring_seconds, self.settings.ring_cycle_seconds))
        await self.acd.offer_ended(consult.agent_id, outcome)
        if resume:
            await self._back_to_first_agent(call, outcome)

    async def _consult_cancel(self, call: LiveCall, req: Transfer | None, *,
                              leg_gone: bool = False) -> None:
        """The agent takes the caller back (or the colleague hung up)."""
        consult = call.consult
        if consult is None:
            raise TransferRefused("no consultation is going on")
        if not call.consult_answered:
            await self._consult_ended(call, OfferOutcome.cancelled, leg_gone=leg_gone)
            return
        call.consult, call.consult_answered = None, False
        self.legs.pop(consult.channel_id, None)
        if not leg_gone:
            await self._safely(self.telephony.hangup(consult.channel_id))
        await self.acd.call_ended(consult.agent_id, call.queue)
        await self._back_to_first_agent(call, "cancelled")

    async def _back_to_first_agent(self, call: LiveCall, why: str) -> None:
        await self._safely(self.telephony.stop_moh(call.channel_id))
        await self.telephony.add_to_bridge(f"call-{call.id}", [call.channel_id])
        await self._fire(call, Trigger.consult_cancelled, detail={"why": str(why)})

    async def _consult_complete(self, call: LiveCall, req: Transfer | None) -> None:
        """The caller goes to the consulted agent; the first leaves (and stays the owner)."""
        consult = call.consult
        if consult is None or not call.consult_answered:
            raise TransferRefused("the consulted agent has not answered")
        first, leg = call.agent_id, call.agent_channel
        if leg is not None:
            self.legs.pop(leg, None)
            await self._safely(self.telephony.hangup(leg))
        if first is not None:
            await self.acd.call_ended(first, call.queue)
        call.agent_id, call.agent_channel = consult.agent_id, consult.channel_id
        call.consult, call.consult_answered = None, False
        await self._safely(self.telephony.stop_moh(call.channel_id))
        await self.telephony.add_to_bridge(f"call-{call.id}", [call.channel_id])
        await self._fire(call, Trigger.consult_completed,
                         detail={"from_agent": str(first), "to_agent": str(consult.agent_id)})

    async def _offer_failed(self, call: LiveCall, outcome: OfferOutcome, *,
                            leg_gone: bool = False) -> None:
        """The agent did not take it (R1: no answer in time, busy, rejected): next agent, at
        once, with the call at the head of its queue."""
        offer, call.offer = call.offer, None
        if offer is None:
            return
        self._cancel_timer(call, "ring")
        self.legs.pop(offer.channel_id, None)
        if not leg_gone:
            await self._safely(self.telephony.hangup(offer.channel_id))  # cancel the ringing
        now = self.clock.now()
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=None, ended_at=now, outcome=outcome)
        ring_seconds = record.ring_seconds
        if outcome is OfferOutcome.no_answer:  # cut at the limit: our own latency is no ring
            ring_seconds = min(ring_seconds, self.settings.ring_limit_seconds)
        await self._update_offer(offer, ended_at=now, outcome=outcome, ring_seconds=ring_seconds,
                                 rings=ring_rule.rings(ring_seconds, self.settings.ring_cycle_seconds))
        log.info("call.offer_missed", agent=str(offer.agent_id), outcome=outcome)
        await self.acd.offer_ended(offer.agent_id, outcome)
        if outcome is not OfferOutcome.cancelled and call.state is CallState.in_queue and (
                not call.hangup_requested):
            call.excluded.add(offer.agent_id)
            config = self.acd.queue(call.queue or "")
            if config is not None and config.announce_every_seconds:
                self._schedule(call, "announce", config.announce_every_seconds,
                               Announce(call.channel_id))
            await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id,
                                   queue=call.queue or "", language=call.language,
                                   priority=call.priority, enqueued_at=call.enqueued_at or now,
                                   excluded=frozenset(call.excluded), reoffer=True,
                                   min_level=call.min_level)

    async def _overflow(self, call: LiveCall) -> None:
        """The call waited its queue's maximum: another queue, or a promised call-back."""
        await self.acd.remove(call.id)
        if call.offer is not None:
            await self._offer_failed(call, OfferOutcome.cancelled)
        config = self.acd.queue(call.queue or "")
        target = (config.overflow or {}) if config else {}
        if target.get("kind") == "queue" and self.acd.queue(target.get("target") or ""):
            call.queue = target["target"]
            self._schedule(call, "max_wait", self.acd.queue(call.queue).max_wait_seconds,
                           MaxWait(call.channel_id))
            await self._update_call(call, queue=call.queue)
            await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=call.queue,
                                   language=call.language, priority=call.priority,
                                   enqueued_at=call.enqueued_at or self.clock.now(),
                                   excluded=frozenset(call.excluded))
            return
        await self._safely(self.telephony.stop_moh(call.channel_id))
        await self._no_agent(call, call.queue, "waited the queue's maximum")

    async def _end_agent_call(self, call: LiveCall) -> None:
        if call.agent_id is not None:
            await self.acd.call_ended(call.agent_id, call.queue)
        await self._safely(self.telephony.destroy_bridge(f"call-{call.id}"))

    async def _update_offer(self, offer: LiveOffer, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await offer_store.update_offer(session=session, offer_id=offer.id, **values)

    def _start_lookup(self, call: LiveCall, action: ivr.Lookup) -> None:
        assert call.menu is not None
        doc, language, number = call.menu.doc, call.language, call.caller_number

        async def run() -> None:
            try:
                answer: tuple[str, ...] | None = await self.lookups.run(
                    action.provider, action.digits, doc=doc, caller_number=number,
                    language=language)
            except LookupFailed as exc:
                log.warning("ivr.lookup_failed", error=str(exc))
                answer = None
            self._submit(call.channel_id, LookupResult(call.channel_id, action.token, answer))

        call.lookup = asyncio.create_task(run(), name=f"lookup:{call.channel_id}")

    async def _save_voicemail(self, call: LiveCall, duration: int | None) -> bool:
        """R8: fetch the message from Asterisk (ARI), keep it in our storage, open a call-back."""
        if call.recording is None or call.left_message:
            return call.left_message
        name = call.recording
        data = b""
        for _ in range(10):  # the file is finalised as the recording ends
            try:
                data = await self.telephony.stored_recording_file(name)
                break
            except AriNotFound:
                await asyncio.sleep(0.1)
        if len(data) <= 44 or (duration is not None and duration < 1):  # a WAV header: nothing said
            log.info("call.voicemail_empty", recording=name)
            return False
        day = self.clock.now().strftime("%Y/%m/%d")
        relative = Path("voicemail") / day / f"{name}.wav"
        target = self.settings.storage_dir / relative
        await asyncio.to_thread(_write_file, target, data)
        async with self.sessions() as session, session.begin():
            voicemail, task = await callbacks.store_voicemail(
                session=session, call_id=call.id, caller_number=call.caller_number,
                language=call.language, path=str(relative), fmt="wav",
                duration_seconds=float(duration) if duration is not None else None,
                size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        call.left_message = True
        log.info("call.voicemail_saved", voicemail=str(voicemail.id), task=str(task.id),
                 bytes=len(data))
        try:
            await self.telephony.delete_stored_recording(name)
        except AriError as exc:
            log.warning("call.voicemail_not_deleted_on_asterisk", error=str(exc))
        return True

    async def _record_step(self, call: LiveCall, step: ivr.IvrStep) -> None:
        if not call.persisted:
            return
        async with self.sessions() as session, session.begin():
            await ivr_store.record_step(session=session, call_id=call.id, at=self.clock.now(),
                                        node=step.node, input=step.input, outcome=step.outcome)

    # -- prompts and endings ----------------------------------------------------------------
    def _system_media(self, call: LiveCall, names: tuple[str, ...]) -> list[str]:
        language = call.language if call.language in ("zh", "en") else self.settings.default_language
        base = self.settings.prompt_dir.rstrip("/")
        return [f"sound:{base}/{language}/{name}" for name in names]

    async def _play_system(self, call: LiveCall) -> None:
        await self.telephony.play(call.channel_id, self._system_media(call, SYSTEM_PROMPTS[call.state]),
                                  playback_id=f"{call.id}.{call.state}", lang=call.language)

    async def _playback_finished(self, call: LiveCall, playback_id: str, at: datetime | None) -> None:
        if call.hangup_requested:
            return  # cut short by the hang-up, not played to the end
        if playback_id == f"{call.id}.announce":
            if call.state is CallState.in_queue:  # a playback stops the music: start it again
                config = self.acd.queue(call.queue or "")
                await self.telephony.start_moh(call.channel_id,
                                               moh_class=config.moh_class if config else "default")
            return
        prefix = f"{call.id}.ivr"
        if call.state is CallState.in_ivr and playback_id.startswith(prefix):
            token = playback_id.removeprefix(prefix)
            if token.isdigit():
                await self._ivr_input(call, ivr.PromptDone(int(token)))
            return
        if call.state in SYSTEM_PROMPTS and playback_id == f"{call.id}.{call.state}":
            await self._fire(call, Trigger.prompt_finished, at=at)
            if call.state is CallState.awaiting_hangup:
                self._schedule(call, "grace", self.settings.closing_grace_seconds,
                               GraceElapsed(call.channel_id))
            elif call.state is CallState.hanging_up:
                await self._hang_up(call)

    async def _hang_up(self, call: LiveCall) -> None:
        try:
            await self.telephony.hangup(call.channel_id)
        except AriNotFound:
            pass  # already gone; StasisEnd follows or has come

    async def _gone(self, call: LiveCall, at: datetime | None) -> None:
        if call.recording and not call.left_message:  # hung up while leaving a message: keep it
            try:
                await self._save_voicemail(call, None)
            except Exception as exc:  # noqa: BLE001
                log.error("call.voicemail_lost", error=repr(exc))
        if call.state is CallState.in_queue:  # abandoned while waiting or ringing an agent
            await self.acd.remove(call.id)
            if call.offer is not None:
                await self._offer_failed(call, OfferOutcome.cancelled)
        elif call.state is CallState.connected:
            if call.consult is not None:  # hung up while on hold for a warm transfer
                if call.consult_answered:
                    self.legs.pop(call.consult.channel_id, None)
                    await self._safely(self.telephony.hangup(call.consult.channel_id))
                    await self.acd.call_ended(call.consult.agent_id, call.queue)
                    call.consult = None
                else:
                    await self._consult_ended(call, OfferOutcome.cancelled, resume=False)
            if call.agent_channel is not None:
                self.legs.pop(call.agent_channel, None)
                await self._safely(self.telephony.hangup(call.agent_channel))
            await self._end_agent_call(call)
        state = call.state
        if state is CallState.in_ivr and self._saying_goodbye(call):
            state = CallState.closing  # the menu's own thanks (R2): the call ran its course
        reason, by = ending(state, failed_before=call.failed, left_message=call.left_message,
                            agent_hung_up=call.agent_hung_up)
        await self._fire(call, Trigger.channel_gone, at=at, best_effort=True,
                         detail={"hangup_cause": call.hangup_cause, "ivr_node": call.ivr_node},
                         ended_at=at or self.clock.now(), end_reason=reason, hangup_by=by,
                         hangup_cause=call.hangup_cause)
        self._forget(call)
        log.info("call.ended", end_reason=reason, hangup_by=by, ivr_node=call.ivr_node)

    @staticmethod
    def _saying_goodbye(call: LiveCall) -> bool:
        if call.ivr is None or call.menu is None:
            return False
        return isinstance(call.menu.doc.nodes.get(call.ivr.node), HangupNode)

    # -- reconciliation ---------------------------------------------------------------------
    async def _resync(self, call: LiveCall, channel: Channel | None) -> None:
        """Bring a call we may have missed events of back in line with Asterisk."""
        if channel is None:
            await self._fire(call, Trigger.lost_track, at=call.last_seen_at, best_effort=True,
                             detail={"last_seen_at": call.last_seen_at.isoformat()},
                             ended_at=call.last_seen_at, end_reason=EndReason.lost_track)
            self._forget(call)
            log.warning("call.lost_track", last_seen_at=call.last_seen_at.isoformat())
            return
        log.info("call.reattached", state=call.state)
        try:
            await self.telephony.subscribe(f"channel:{call.channel_id}")
        except AriError as exc:
            log.warning("call.resubscribe_failed", error=str(exc))
        match call.state:
            case CallState.ringing:
                await self._answer_and_start(call, already_up=channel.state == "Up")
            case CallState.answered:
                await self._start_ivr(call, at_node=None)
            case CallState.in_ivr if call.ivr is None:  # the service restarted meanwhile
                await self._start_ivr(call, at_node=call.ivr_node)
            case CallState.in_ivr:
                assert call.ivr is not None
                if call.ivr.phase in (ivr.Phase.prompt, ivr.Phase.answer, ivr.Phase.saved) and (
                        await self.telephony.get_playback(f"{call.id}.ivr{call.ivr.token}") is None):
                    await self._ivr_input(call, ivr.PromptDone(call.ivr.token))  # it ended unseen
            case CallState.closing | CallState.failing:
                if await self.telephony.get_playback(f"{call.id}.{call.state}") is None:
                    await self._playback_finished(call, f"{call.id}.{call.state}", None)
            case CallState.in_queue:
                await self._resync_queue(call)
            case CallState.connected:
                await self._resync_connected(call)
            case CallState.awaiting_hangup:
                self._schedule(call, "grace", self.settings.closing_grace_seconds,
                               GraceElapsed(call.channel_id))
            case CallState.hanging_up:
                await self._hang_up(call)

    def adopt(self, row: Any, seq: int) -> LiveCall:
        """Take over an open call from its database row (after a restart of the service)."""
        call = self.calls.get(row.channel_id)
        if call is None:
            call = self.calls[row.channel_id] = self._live(row, seq, last_seen_at=row.last_seen_at)
        return call

    @staticmethod
    def _live(row: Any, seq: int, *, last_seen_at: datetime) -> LiveCall:
        """A live call from its row (new, or known from before a restart)."""
        return LiveCall(id=row.id, channel_id=row.channel_id, state=CallState(row.state),
                        language=row.language, seq=seq, last_seen_at=last_seen_at,
                        caller_number=row.caller_number, ivr_node=row.ivr_node, queue=row.queue,
                        enqueued_at=row.enqueued_at, agent_id=row.agent_id, owner_id=row.agent_id,
                        priority=row.priority)

    async def _resync_queue(self, call: LiveCall) -> None:
        """A waiting call after a drop or a restart: its offer's fate, or back in the queue."""
        offer = call.offer
        if offer is not None:  # was an agent's phone answered, or hung up, unseen?
            try:
                leg = await self.telephony.get_channel(offer.channel_id)
            except AriNotFound:
                await self._offer_failed(call, OfferOutcome.no_answer, leg_gone=True)
                return
            if leg.state == "Up":
                await self._agent_answered(call, StasisStart(
                    type="StasisStart", args=["agent", str(call.id)], channel=leg))
            return
        if call.id not in self.acd.waiting and call.queue and self.acd.queue(call.queue):
            self._schedule(call, "max_wait", self.acd.queue(call.queue).max_wait_seconds,
                           MaxWait(call.channel_id))
            await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=call.queue,
                                   language=call.language, priority=call.priority,
                                   enqueued_at=call.enqueued_at or self.clock.now(),
                                   excluded=frozenset(call.excluded))

    async def _resync_connected(self, call: LiveCall) -> None:
        """A call with an agent after a restart: find the agent's leg in the call's bridge."""
        if call.agent_channel is not None:
            return
        bridge = await self.telephony.get_bridge(f"call-{call.id}")
        legs = [c for c in (bridge.channels if bridge else []) if c != call.channel_id]
        if not legs:  # the agent is gone: end the call cleanly
            call.agent_hung_up = True
            await self._hang_up(call)
            return
        call.agent_channel = legs[0]
        self.legs[legs[0]] = call.channel_id
        await self._safely(self.telephony.subscribe(f"channel:{legs[0]}"))

    # -- failure ----------------------------------------------------------------------------
    async def _fail(self, call: LiveCall, exc: BaseException) -> None:
        """Something broke: apologise and hang up cleanly (never leave the caller in silence)."""
        log.error("call.failed", state=call.state, error=repr(exc), exc_info=exc)
        call.failed = True
        self._cancel_tasks(call)
        if call.state in (CallState.failing, CallState.hanging_up, CallState.ended):
            await self._safely(self._hang_up(call))
            return
        was_ringing = call.state is CallState.ringing
        await self._fire(call, Trigger.failed, best_effort=True, detail={"error": repr(exc)[:300]})
        try:
            if was_ringing:
                await self.telephony.answer(call.channel_id)
            await self._play_system(call)
        except Exception as play_exc:  # noqa: BLE001
            log.error("call.apology_failed", error=repr(play_exc))
            await self._fire(call, Trigger.hang_up, best_effort=True)
            await self._safely(self._hang_up(call))

    async def _safely(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            log.error("call.cleanup_failed", error=repr(exc))

    # -- helpers ----------------------------------------------------------------------------
    async def _fire(self, call: LiveCall, trigger: Trigger, *, at: datetime | None = None,
                    detail: dict[str, Any] | None = None, best_effort: bool = False,
                    **updates: Any) -> None:
        """The one choke point for state changes: check, log, persist, then apply."""
        to = next_state(call.state, trigger)
        at = at or self.clock.now()
        seq = call.seq + 1
        log.info("call.transition", from_state=call.state, trigger=trigger, to_state=to)
        if call.persisted:
            try:
                async with self.sessions() as session, session.begin():
                    await service.record_transition(
                        session=session, call_id=call.id, seq=seq, at=at, from_state=call.state,
                        trigger=trigger, to_state=to, detail=detail, **updates)
            except Exception as exc:
                if not best_effort:
                    raise
                log.error("call.persist_failed", trigger=trigger, error=repr(exc))
        call.seq, call.state = seq, to
        call.last_seen_at = max(call.last_seen_at, at)

    async def _update_call(self, call: LiveCall, **values: Any) -> None:
        if call.persisted:
            async with self.sessions() as session, session.begin():
                await service.update_call(session=session, call_id=call.id, **values)

    def _schedule(self, call: LiveCall, name: str, seconds: float, item: Item) -> None:
        """A named timer of the call (ivr, grace, ring, max_wait); the next one of the same name
        replaces the last (a key overtakes a timeout). It fires into the call's own queue."""

        async def fire() -> None:
            await asyncio.sleep(seconds)
            self._submit(call.channel_id, item)

        self._cancel_timer(call, name)
        call.timers[name] = asyncio.create_task(fire(), name=f"{name}:{call.channel_id}")

    def _cancel_timer(self, call: LiveCall, name: str) -> None:
        task = call.timers.pop(name, None)
        if task is not None and not task.done():
            task.cancel()

    def _cancel_tasks(self, call: LiveCall) -> None:
        for name in list(call.timers):
            self._cancel_timer(call, name)
        if call.lookup is not None and not call.lookup.done():
            call.lookup.cancel()
        call.lookup = None

    def _forget(self, call: LiveCall) -> None:
        self._cancel_tasks(call)
        self.calls.pop(call.channel_id, None)

    async def close(self) -> None:
        for call in list(self.calls.values()):
            self._cancel_tasks(call)


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.rename(target)


def item_channel_id(item: Item) -> str | None:
    """Which call's queue an item belongs in (its channel id)."""
    if isinstance(item, OWN_ITEMS):
        return item.channel_id
    return channel_id_of(item)
