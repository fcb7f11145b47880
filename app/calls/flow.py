"""The inbound call's router: each item of a call (an ARI event, or one of our own timers,
results and requests, `app.calls.items`) is handled here in order, by the dispatcher's worker
for that call, and handed to the part whose business it is.

A call is answered at once (R1) and the voice menu runs (`MenuLeg`); a call handed to a queue
waits there (`QueueWaiting`), is offered to agents under the three-ring rule and talks to the
one who answers (`Offers`), may be transferred (`Transfers`), may leave a message (`Voicemail`)
and rate the call (`Survey`). The parts run on one runtime (`app.calls.runtime`): its `fire`
is the one choke point for state changes. When the call goes, each part releases what it holds.
If anything fails the caller hears an apology and a clean hang-up, never silence.

Where each item goes:

| item | state | part |
| --- | --- | --- |
| StasisStart (the caller) | - | `_arrived` here: the row, answer, `MenuLeg.start` |
| ChannelDtmfReceived | in_ivr / survey | `MenuLeg.input` / `Survey.key` |
| PlaybackFinished | any | menu prompt, survey question, overflow prompt, the state's words |
| RecordingFinished/Failed | in_ivr / voicemail | `Voicemail.finished` |
| IvrTimer, LookupResult | in_ivr | `MenuLeg.input` |
| OfferMade, RingLimit, MaxWait, Announce | in_queue | `QueueWaiting` |
| an agent's leg event | in_queue / connected | `_on_agent_leg` here, then `Offers` or `Transfers` |
| Transfer, ConsultRingLimit | connected | `Transfers` |
| SurveyTimer | survey | `Survey.silence` |
| GraceElapsed | awaiting_hangup | hang up (R2: the caller had their chance first) |
| StasisEnd, ChannelDestroyed | any | `_gone`: each part releases, the call ends |
| Resync | any | `_resync`: each part lines up with Asterisk |
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelStateChange,
    PlaybackFinished, RecordingFailed, RecordingFinished, StasisEnd, StasisStart,
)
from app.ari.models import Channel
from app.calls.items import (
    OWN_ITEMS, Announce, ConsultRingLimit, GraceElapsed, Item, IvrTimer, LiveCall, LookupResult,
    MaxWait, Resync, RingLimit, SurveyTimer, Transfer, TransferRefused,
)
from app.calls.log_writer import CallLogWriter
from app.calls.menu_leg import MenuLeg
from app.calls.offers import Offers, outcome_of
from app.calls.outbound import OutboundCalls
from app.calls.promises import Promises
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, EndReason, Trigger, ending
from app.calls.survey import Survey
from app.calls.transfers import Transfers
from app.calls.voicemail import Voicemail
from app.calls.waiting import QueueWaiting
from app.clock import Clock
from app.config import Settings
from app.desk.notifier import DeskNotifier
from app.errors import AppError
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage
from app.telephony import Telephony
from ivr import interpreter as ivr
from ivr.lookup import Lookups
from ivr.runtime import MenuRuntime
from routing.engine import Acd, OfferMade
from routing.ring_rule import OfferOutcome

log = structlog.get_logger(__name__)

# The words of the states that say something of their own (prompts/system.yaml).
_FAILING = ("technical_problem",)


class CallFlow:
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 menus: MenuRuntime, lookups: Lookups, acd: Acd, submit: Any,
                 desk: DeskNotifier | None = None, recorder: Recorder | None = None,
                 call_log: CallLogWriter | None = None) -> None:
        self.settings = settings
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self.menus = menus
        self.acd = acd
        self.desk = desk or DeskNotifier()  # agents' screens (R3): pops, call and offer ends
        # R16: agent conversations of queues that record (started, paused, kept in our storage).
        self.recorder = recorder or Recorder(settings=settings, telephony=telephony,
                                             sessionmaker=sessionmaker, clock=clock,
                                             storage=LocalStorage(settings.storage_dir))
        self.runtime = rt = CallRuntime(settings=settings, telephony=telephony, clock=clock,
                                        call_log=call_log or CallLogWriter(
                                            sessionmaker, limits=settings.writers),
                                        submit=submit)
        self.call_log = rt.call_log
        self.calls: dict[str, LiveCall] = {}
        # The parts, each on the runtime, composed downward (none knows the flow).
        promises = Promises(rt)
        self.voicemail = Voicemail(rt, promises)
        self.offers = Offers(rt, acd=acd, desk=self.desk, recorder=self.recorder,
                             sessionmaker=sessionmaker)
        self.waiting = QueueWaiting(rt, acd=acd, offers=self.offers, voicemail=self.voicemail,
                                    promises=promises, sessionmaker=sessionmaker)
        self.promises = promises
        self.transfers = Transfers(rt, acd=acd, offers=self.offers, waiting=self.waiting)
        self.menu = MenuLeg(rt, menus=menus, lookups=lookups, voicemail=self.voicemail,
                            waiting=self.waiting, sessionmaker=sessionmaker)
        self.survey = Survey(rt, finished=self._survey_finished)
        # Call-backs (R17): the second kind of call on the same runtime.
        self.outbound = OutboundCalls(runtime=rt, sessionmaker=sessionmaker, acd=acd,
                                      desk=self.desk, recorder=self.recorder)

    @property
    def legs(self) -> dict[str, str]:
        """Agents' and customers' legs -> the key of the call they belong to."""
        return self.runtime.legs

    def channel_of(self, call_id: uuid.UUID) -> str | None:
        """The caller's channel of a live call."""
        return next((c.channel_id for c in self.calls.values() if c.id == call_id), None)

    # -- entry point ------------------------------------------------------------------------
    async def handle(self, channel_id: str, item: Item) -> None:
        if self.outbound.owns(channel_id):
            await self.outbound.handle(channel_id, item)
            return
        call = self.calls.get(channel_id)
        ids = {"channel_id": channel_id} | ({"call_id": str(call.id)} if call else {})
        with structlog.contextvars.bound_contextvars(**ids):
            if isinstance(item, StasisStart) and item.args[:1] not in (["agent"], ["consult"]):
                await self._arrived(item)
                return
            if call is None:
                if isinstance(item, StasisStart):  # a leg of ours that no call owns now
                    await self._orphan(item)
                    return
                if isinstance(item, OfferMade):  # the caller left before the offer reached us
                    await self.acd.offer_ended(item.agent_id, OfferOutcome.cancelled)
                if isinstance(item, Transfer) and not item.done.done():
                    item.done.set_exception(TransferRefused("the call has ended"))
                if isinstance(item, Resync) and item.done is not None and not item.done.done():
                    item.done.set_result(None)
                log.debug("call.item_for_unknown_channel", item=type(item).__name__)
                return
            if not isinstance(item, OWN_ITEMS):  # a sighting of the channel
                call.last_seen_at = max(call.last_seen_at, self.clock.now())
            try:
                await self._route(call, item)
            except AriNotFound as exc:
                # The channel vanished under us (the caller hung up): its StasisEnd follows.
                log.info("call.channel_vanished", state=call.state, error=str(exc))
                call.hangup_requested = True
            except Exception as exc:  # noqa: BLE001 - any failure: apology + hang-up
                await self._fail(call, exc)

    async def _route(self, call: LiveCall, item: Item) -> None:
        leg = getattr(getattr(item, "channel", None), "id", None)
        if leg is not None and leg != call.channel_id:
            await self._on_agent_leg(call, item)
            return
        state = call.state
        match item:
            case ChannelDtmfReceived():
                if state is CallState.in_ivr:
                    await self.menu.input(call, ivr.Digit(item.digit))
                elif state is CallState.survey and not call.hangup_requested:
                    await self.survey.key(call, item.digit)
            case PlaybackFinished():
                await self._playback_finished(call, item.playback.id, item.timestamp)
            case RecordingFinished() | RecordingFailed():
                if self.voicemail.is_ours(call, item.recording.name):
                    saved = await self.voicemail.finished(
                        call, item.recording.duration, recorded=isinstance(item, RecordingFinished))
                    if state is CallState.voicemail:  # a queue's voicemail overflow
                        await self.voicemail.overflow_done(call, saved)
                    elif call.ivr is not None:
                        await self.menu.input(call, ivr.RecordingDone(call.ivr.token, saved))
            case ChannelHangupRequest():
                call.hangup_requested = True
                call.hangup_cause = item.cause
            case StasisEnd() | ChannelDestroyed():
                if isinstance(item, ChannelDestroyed):
                    call.hangup_cause = call.hangup_cause or item.cause
                await self._gone(call, item.timestamp)
            case IvrTimer():
                await self.menu.input(call, ivr.TimerFired(item.token))
            case LookupResult():
                await self.menu.input(call, ivr.LookupDone(item.token, item.answer))
            case OfferMade():
                await self.waiting.offer(call, item)
            case RingLimit():
                await self.waiting.ring_limit(call, item.offer_id)
            case MaxWait():
                await self.waiting.max_wait(call)
            case Announce():
                await self.waiting.announce(call)
            case Transfer():
                await self._transfer(call, item)
            case ConsultRingLimit():
                await self.transfers.ring_limit(call, item.offer_id)
            case SurveyTimer():
                if state is CallState.survey:
                    await self.survey.silence(call, item.token)
            case GraceElapsed():
                if state is CallState.awaiting_hangup:
                    self.runtime.fire(call, Trigger.grace_elapsed)
                    await self.runtime.hang_up(call.channel_id)
            case Resync():
                try:
                    await self._resync(call, item.channel)
                finally:
                    if item.done is not None and not item.done.done():
                        item.done.set_result(None)
            case _:
                log.debug("call.item_ignored", item=type(item).__name__)

    async def _transfer(self, call: LiveCall, req: Transfer) -> None:
        try:
            await self.transfers.request(call, req)
        except Exception as exc:
            if not req.done.done():
                req.done.set_exception(exc)
            if not isinstance(exc, AppError):
                raise
        else:
            req.done.set_result(None)

    async def _on_agent_leg(self, call: LiveCall, item: Item) -> None:
        """An agent's leg: the queue's offer ringing or answered, the consultation's leg, or the
        agent of the conversation leaving."""
        leg, offer = item.channel.id, call.offer  # type: ignore[union-attr]
        if call.consult is not None and leg == call.consult.offer.channel_id:
            await self.transfers.on_leg(call, item)
            return
        match item:
            case ChannelStateChange() if offer and leg == offer.channel_id:
                if item.channel.state == "Ringing":
                    await self.offers.rings(call, offer, "ring",
                                            RingLimit(call.channel_id, offer.id))
            case StasisStart():
                await self.offers.connect(call, item)
            case ChannelDestroyed() | ChannelHangupRequest() if offer and leg == offer.channel_id:
                await self.waiting.missed(call, outcome_of(item.cause), leg_gone=True)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest() if (
                    leg == call.agent_channel and call.consult is not None
                    and call.consult.talking):
                await self.transfers.first_agent_left(call)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest() if (
                    leg == call.agent_channel and call.state is CallState.connected):
                # The agent hung up first (R2 says they should wait for the caller): end the call.
                call.agent_hung_up = True
                self.runtime.detach_leg(leg)
                call.agent_channel = None
                await self.offers.end_conversation(call)
                if not await self._offer_survey(call):  # R17: the queue may ask for a rating
                    await self.runtime.hang_up(call.channel_id)

    # -- arrival ----------------------------------------------------------------------------
    async def _arrived(self, event: StasisStart) -> None:
        channel = event.channel
        if channel.id in self.calls:
            log.info("call.duplicate_stasis_start")
            return
        if event.args[:1] not in ([], ["inbound"]):  # a call-back's leg its call no longer has
            await self._orphan(event)
            return
        started_at = channel.creationtime or event.timestamp or self.clock.now()
        call = LiveCall(id=uuid.uuid4(), channel_id=channel.id, state=CallState.ringing,
                        language=self.settings.default_language, seq=0,
                        last_seen_at=self.clock.now(), caller_number=channel.caller.number or None,
                        ivr_steps=0)
        # R21: the row is written behind like the rest of the call log: the caller is answered
        # and served whether Postgres answers now or only later.
        self.call_log.open_call(
            id=call.id, channel_id=channel.id, direction="inbound",
            caller_number=call.caller_number,
            caller_name=channel.caller.name or None, dialed_number=channel.dialplan.exten or None,
            language=call.language, state=CallState.ringing, started_at=started_at,
            last_seen_at=started_at)
        self.call_log.transition(
            call_id=call.id, seq=0, at=started_at, from_state="", trigger=Trigger.arrived,
            to_state=CallState.ringing, detail={"caller_number": channel.caller.number,
                                                "dialed_number": channel.dialplan.exten})
        self.calls[channel.id] = call
        with structlog.contextvars.bound_contextvars(call_id=str(call.id)):
            log.info("call.arrived", caller=channel.caller.number, dialed=channel.dialplan.exten)
            try:
                await self._answer_and_start(call, already_up=False)
            except AriNotFound:
                call.hangup_requested = True
            except Exception as exc:  # noqa: BLE001
                await self._fail(call, exc)

    async def _orphan(self, event: StasisStart) -> None:
        """An agent's or a call-back's leg entered our app, but no live call has it (its call
        ended, or a stopped service dialled it and the phone was answered after the restart's
        reconciliation): hung up, so that no agent is left talking to nobody (R21)."""
        log.warning("call.orphan_leg_hung_up", leg=event.channel.id, args=event.args)
        await self.runtime.safely(self.runtime.hang_up(event.channel.id))

    async def _answer_and_start(self, call: LiveCall, *, already_up: bool) -> None:
        if not already_up:
            await self.telephony.answer(call.channel_id)  # R1: the system answers at once
        self.runtime.fire(call, Trigger.answered, answered_at=self.clock.now())
        await self.menu.start(call, at_node=None)

    # -- prompts and endings ----------------------------------------------------------------
    async def _playback_finished(self, call: LiveCall, playback_id: str, at: datetime | None) -> None:
        if call.hangup_requested:
            return  # cut short by the hang-up, not played to the end
        if call.state is CallState.survey and self.survey.asked(call, playback_id):
            return
        if (done := self.menu.prompt_done(call, playback_id)) is not None:
            await self.menu.input(call, done)
            return
        if self.voicemail.prompt_done(call, playback_id):
            await self.voicemail.after_prompt(call)
            return
        if call.state in (CallState.closing, CallState.failing) and (
                playback_id == f"{call.id}.{call.state}"):
            self.runtime.fire(call, Trigger.prompt_finished, at=at)
            if call.state is CallState.awaiting_hangup:
                self.runtime.schedule(call, "grace", self.settings.closing_grace_seconds,
                                      GraceElapsed(call.channel_id))
            elif call.state is CallState.hanging_up:
                await self.runtime.hang_up(call.channel_id)

    async def _offer_survey(self, call: LiveCall) -> bool:
        """R17: the agent left while the caller is on the line: a rating, if the queue asks."""
        config = self.acd.queue(call.queue or "")
        if call.hangup_requested or config is None or not config.survey:
            return False
        self.runtime.fire(call, Trigger.survey_started, detail={"queue": call.queue})
        await self.survey.start(call)
        return True

    async def _survey_finished(self, call: LiveCall, score: int | None,
                               prompts: tuple[str, ...]) -> None:
        """The score goes on the call; the thanks play as the closing words, then the caller
        may hang up first (R2)."""
        now = self.clock.now()
        scored = {"satisfaction": score, "satisfaction_at": now} if score else {}
        self.runtime.fire(call, Trigger.survey_done, at=now, detail={"score": score}, **scored)
        await self.runtime.say(call, prompts)

    async def _release(self, call: LiveCall) -> None:
        """The caller is gone: each part lets go of what it holds (a message being recorded is
        kept; the ACD's queue entry, an offer ringing, a consultation, the agent's leg and the
        conversation's bridge; the agent goes to wrap-up). Each part on its own: one failing
        never keeps the next from letting go (R21: no agent stuck)."""
        for release in (self.voicemail.release, self.transfers.release, self.waiting.release,
                        self.offers.release):
            await self.runtime.safely(release(call))

    async def _gone(self, call: LiveCall, at: datetime | None) -> None:
        """The caller's channel left us: each part releases what it holds, the call ends."""
        await self._release(call)
        state = call.state
        if state is CallState.in_ivr and self.menu.saying_goodbye(call):
            state = CallState.closing  # the menu's own thanks (R2): the call ran its course
        reason, by = ending(state, failed_before=call.failed, left_message=call.left_message,
                            agent_hung_up=call.agent_hung_up, overflowed=call.overflowed)
        if reason is EndReason.abandoned_in_queue:  # R8: nobody took the call: we call back
            await self.runtime.safely(self.promises.abandoned(call))
        self.runtime.fire(call, Trigger.channel_gone, at=at,
                          detail={"hangup_cause": call.hangup_cause, "ivr_node": call.ivr_node},
                          ended_at=at or self.clock.now(), end_reason=reason, hangup_by=by,
                          hangup_cause=call.hangup_cause)
        self._forget(call)
        log.info("call.ended", end_reason=reason, hangup_by=by, ivr_node=call.ivr_node)

    # -- reconciliation ---------------------------------------------------------------------
    async def _resync(self, call: LiveCall, channel: Channel | None) -> None:
        """Bring a call we may have missed events of back in line with Asterisk."""
        if channel is None:  # it ended while we were away: everything it held is let go (R21)
            self.recorder.finish_open(call.id)  # R16: keep what Asterisk recorded of it
            await self._release(call)
            self.runtime.fire(call, Trigger.lost_track, at=call.last_seen_at,
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
                await self._answer_and_start(call, already_up=False)
            case CallState.answered:
                await self.menu.start(call, at_node=None)
            case CallState.in_ivr:
                await self.menu.resync(call)
            case CallState.closing | CallState.failing:
                if await self.telephony.get_playback(f"{call.id}.{call.state}") is None:
                    await self._playback_finished(call, f"{call.id}.{call.state}", None)
            case CallState.in_queue:
                await self.waiting.resync(call)
            case CallState.connected:
                await self.offers.resync_connected(call)
            case CallState.voicemail:
                await self.voicemail.resync(call)
            case CallState.survey:
                await self.survey.resync(call)
            case CallState.awaiting_hangup:
                self.runtime.schedule(call, "grace", self.settings.closing_grace_seconds,
                                      GraceElapsed(call.channel_id))
            case CallState.hanging_up:
                await self.runtime.hang_up(call.channel_id)

    def busy_agents(self) -> dict[uuid.UUID, uuid.UUID]:
        """Agents whose phone rings or who talk on a live call now -> that call (after a
        reconnect or restart the ACD lines its agents up with these, R21)."""
        busy: dict[uuid.UUID, uuid.UUID] = {}
        for call in self.calls.values():
            if call.offer is not None:
                busy[call.offer.agent_id] = call.id
            if call.consult is not None:
                busy[call.consult.offer.agent_id] = call.id
            if call.agent_id is not None and call.state is CallState.connected:
                busy[call.agent_id] = call.id
        busy |= self.outbound.busy_agents()
        return busy

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

    # -- failure ----------------------------------------------------------------------------
    async def _fail(self, call: LiveCall, exc: BaseException) -> None:
        """Something broke: apologise and hang up cleanly (never leave the caller in silence)."""
        log.error("call.failed", state=call.state, error=repr(exc), exc_info=exc)
        call.failed = True
        self._cancel_tasks(call)
        if call.state in (CallState.failing, CallState.hanging_up, CallState.ended):
            await self.runtime.safely(self.runtime.hang_up(call.channel_id))
            return
        was_ringing = call.state is CallState.ringing
        self.runtime.fire(call, Trigger.failed, detail={"error": repr(exc)[:300]})
        try:
            if was_ringing:
                await self.telephony.answer(call.channel_id)
            await self.runtime.say(call, _FAILING)
        except Exception as play_exc:  # noqa: BLE001
            log.error("call.apology_failed", error=repr(play_exc))
            self.runtime.fire(call, Trigger.hang_up)
            await self.runtime.safely(self.runtime.hang_up(call.channel_id))

    def _cancel_tasks(self, call: LiveCall) -> None:
        self.runtime.cancel_all(call)
        self.menu.release(call)

    def _forget(self, call: LiveCall) -> None:
        self._cancel_tasks(call)
        self.calls.pop(call.channel_id, None)

    async def close(self) -> None:
        for call in list(self.calls.values()):
            self._cancel_tasks(call)
        await self.outbound.close()
        await self.recorder.close()
        await self.runtime.close()
        await self.call_log.close()
