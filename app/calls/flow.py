"""The inbound call flow, one call at a time: each item of a call (an ARI event or one of our own
timers) is handled here in order, by the dispatcher's worker for that call.

First call (the foundation): answer at once (R1), greet naming the organisation (R2), thank the
caller (R2), give them a moment to hang up first (R2), then hang up. If anything fails the caller
hears an apology and a clean hang-up, never silence.

Every state change goes through `_fire`, the one choke point that checks the transition, logs
`from -> trigger -> to` and writes it to the call's timeline in Postgres.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    AriEvent, ChannelDestroyed, ChannelHangupRequest, PlaybackFinished, StasisEnd, StasisStart,
    channel_id_of,
)
from app.ari.models import Channel
from app.calls import service
from app.calls.state import CallState, EndReason, Trigger, ending, next_state
from app.clock import Clock
from app.config import Settings
from app.telephony import Telephony

log = structlog.get_logger(__name__)

# The prompt that plays in each state; its playback id is "<call id>.<prompt>".
PROMPT_OF_STATE = {
    CallState.greeting: "greeting",
    CallState.closing: "thanks",
    CallState.failing: "technical_problem",
}


@dataclass(frozen=True)
class GraceElapsed:
    """Our own timer: the caller had their chance to hang up first."""

    channel_id: str


@dataclass(frozen=True)
class Resync:
    """After a (re)connect: the channel as Asterisk has it now (None: gone) and when we last saw it."""

    channel_id: str
    channel: Channel | None


Item = AriEvent | GraceElapsed | Resync


@dataclass
class LiveCall:
    id: uuid.UUID
    channel_id: str
    state: CallState
    language: str
    seq: int
    last_seen_at: datetime
    persisted: bool = True
    failed: bool = False
    hangup_requested: bool = False  # the channel is going away: start nothing new on it
    hangup_cause: int | None = None
    timer: asyncio.Task[None] | None = field(default=None, repr=False)


class CallFlow:
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 submit: Any) -> None:
        self.settings = settings
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self._submit = submit  # (channel_id, item) -> None: back into the call's own queue
        self.calls: dict[str, LiveCall] = {}

    # -- entry point ------------------------------------------------------------------------
    async def handle(self, channel_id: str, item: Item) -> None:
        call = self.calls.get(channel_id)
        ids = {"channel_id": channel_id} | ({"call_id": str(call.id)} if call else {})
        with structlog.contextvars.bound_contextvars(**ids):
            if isinstance(item, StasisStart):
                await self._arrived(item)
                return
            if call is None:
                log.debug("call.item_for_unknown_channel", item=type(item).__name__)
                return
            if not isinstance(item, (GraceElapsed, Resync)):  # a sighting of the channel
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
        match item:
            case PlaybackFinished():
                await self._playback_finished(call, item.playback.id, item.timestamp)
            case ChannelHangupRequest():
                call.hangup_requested = True
                call.hangup_cause = item.cause
            case StasisEnd() | ChannelDestroyed():
                if isinstance(item, ChannelDestroyed):
                    call.hangup_cause = call.hangup_cause or item.cause
                await self._gone(call, item.timestamp)
            case GraceElapsed():
                if call.state is CallState.awaiting_hangup:
                    await self._fire(call, Trigger.grace_elapsed)
                    await self._hang_up(call)
            case Resync():
                await self._resync(call, item.channel)
            case _:
                log.debug("call.item_ignored", item=type(item).__name__)

    # -- the flow ---------------------------------------------------------------------------
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
            call = LiveCall(id=row.id, channel_id=channel.id, state=CallState(row.state),
                            language=row.language, seq=seq, last_seen_at=self.clock.now())
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
                    await self._answer_and_greet(call, already_up=False)
                else:  # known from before a restart: carry on where it was
                    await self._resync(call, channel)
            except Exception as exc:  # noqa: BLE001
                await self._fail(call, exc)

    async def _answer_and_greet(self, call: LiveCall, *, already_up: bool) -> None:
        if not already_up:
            await self.telephony.answer(call.channel_id)  # R1: the system answers at once
        await self._fire(call, Trigger.answered, answered_at=self.clock.now())
        await self._greet(call)

    async def _greet(self, call: LiveCall) -> None:
        await self._play(call, "greeting")  # R2: greeting naming the organisation
        await self._fire(call, Trigger.greeting_started)

    async def _playback_finished(self, call: LiveCall, playback_id: str, at: datetime | None) -> None:
        prompt = PROMPT_OF_STATE.get(call.state)
        if prompt is None or playback_id != self._playback_id(call, prompt):
            log.debug("call.stale_playback", playback_id=playback_id)
            return
        if call.hangup_requested:
            return  # cut short by the hang-up, not played to the end
        await self._fire(call, Trigger.prompt_finished, at=at, detail={"prompt": prompt})
        if call.state is CallState.closing:
            await self._play(call, "thanks")  # R2: close with thanks
        elif call.state is CallState.awaiting_hangup:
            self._start_grace_timer(call)
        elif call.state is CallState.hanging_up:
            await self._hang_up(call)

    def _start_grace_timer(self, call: LiveCall) -> None:
        """R2: wait for the caller to hang up first; after the grace period we do."""

        async def elapse() -> None:
            await asyncio.sleep(self.settings.closing_grace_seconds)
            self._submit(call.channel_id, GraceElapsed(call.channel_id))

        self._cancel_timer(call)
        call.timer = asyncio.create_task(elapse(), name=f"grace:{call.channel_id}")

    async def _hang_up(self, call: LiveCall) -> None:
        try:
            await self.telephony.hangup(call.channel_id)
        except AriNotFound:
            pass  # already gone; StasisEnd follows or has come

    async def _gone(self, call: LiveCall, at: datetime | None) -> None:
        reason, by = ending(call.state, failed_before=call.failed)
        await self._fire(call, Trigger.channel_gone, at=at, best_effort=True,
                         detail={"hangup_cause": call.hangup_cause},
                         ended_at=at or self.clock.now(), end_reason=reason, hangup_by=by,
                         hangup_cause=call.hangup_cause)
        self._forget(call)
        log.info("call.ended", end_reason=reason, hangup_by=by)

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
                await self._answer_and_greet(call, already_up=channel.state == "Up")
            case CallState.answered:
                await self._greet(call)
            case CallState.greeting | CallState.closing | CallState.failing:
                playback_id = self._playback_id(call, PROMPT_OF_STATE[call.state])
                if await self.telephony.get_playback(playback_id) is None:
                    # it finished while we were away
                    await self._playback_finished(call, playback_id, None)
            case CallState.awaiting_hangup:
                self._start_grace_timer(call)
            case CallState.hanging_up:
                await self._hang_up(call)

    def adopt(self, row_id: uuid.UUID, channel_id: str, state: str, language: str, seq: int,
              last_seen_at: datetime) -> LiveCall:
        """Take over an open call from the database (after a restart of the service)."""
        call = self.calls.get(channel_id)
        if call is None:
            call = LiveCall(id=row_id, channel_id=channel_id, state=CallState(state),
                            language=language, seq=seq, last_seen_at=last_seen_at)
            self.calls[channel_id] = call
        return call

    # -- failure ----------------------------------------------------------------------------
    async def _fail(self, call: LiveCall, exc: BaseException) -> None:
        """Something broke: apologise and hang up cleanly (never leave the caller in silence)."""
        log.error("call.failed", state=call.state, error=repr(exc), exc_info=exc)
        call.failed = True
        if call.state in (CallState.failing, CallState.hanging_up, CallState.ended):
            await self._safely(self._hang_up(call))
            return
        was_ringing = call.state is CallState.ringing
        await self._fire(call, Trigger.failed, best_effort=True, detail={"error": repr(exc)[:300]})
        try:
            if was_ringing:
                await self.telephony.answer(call.channel_id)
            await self._play(call, "technical_problem")
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
    def _playback_id(self, call: LiveCall, prompt: str) -> str:
        return f"{call.id}.{prompt}"

    async def _play(self, call: LiveCall, prompt: str) -> None:
        media = f"sound:{self.settings.prompt_dir.rstrip('/')}/{call.language}/{prompt}"
        await self.telephony.play(call.channel_id, [media],
                                  playback_id=self._playback_id(call, prompt), lang=call.language)

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

    def _cancel_timer(self, call: LiveCall) -> None:
        if call.timer is not None and not call.timer.done():
            call.timer.cancel()
        call.timer = None

    def _forget(self, call: LiveCall) -> None:
        self._cancel_timer(call)
        self.calls.pop(call.channel_id, None)

    async def close(self) -> None:
        for call in list(self.calls.values()):
            self._cancel_timer(call)


def item_channel_id(item: Item) -> str | None:
    """Which call's queue an item belongs in (its channel id)."""
    if isinstance(item, (GraceElapsed, Resync)):
        return item.channel_id
    return channel_id_of(item)
