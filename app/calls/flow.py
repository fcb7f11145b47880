"""The inbound call flow, one call at a time: each item of a call (an ARI event or one of our own
timers, results and requests, `app.calls.items`) is handled here in order, by the dispatcher's
worker for that call.

A call is answered at once (R1), then the voice menu runs (`ivr.interpreter`, pure): its actions
(play, stop on barge-in, timers, lookups, recording, language, queue, hang-up) are carried out
here against the telephony port. What happens once the menu hands the call to a queue (waiting,
offers under the three-ring rule, bridging, overflow, transfers) is in `app.calls.queueing`. A
call no queue can serve follows the queue's overflow: another queue, a message (R8: recorded here
as the menu's voicemail is) or the promise of a call-back (a call-back task). The closing thanks
(R2) give the caller a moment to hang up first. If anything fails the
caller hears an apology and a clean hang-up, never silence.

Every state change goes through `_fire`, the one choke point that checks the transition, logs
`from -> trigger -> to` and hands it to the call log (`app.calls.log_writer`), which writes it
to the call's timeline in Postgres behind the flow, in order, many calls per transaction (#9).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, PlaybackFinished,
    RecordingFailed, RecordingFinished, StasisEnd, StasisStart,
)
from app.ari.models import Channel
from app.callbacks import service as callbacks
from app.calls import service
from app.calls.items import (
    OWN_ITEMS, Announce, ConsultRingLimit, GraceElapsed, Item, IvrTimer, LiveCall, LookupResult,
    MaxWait, Resync, RingLimit, SurveyTimer, Transfer, TransferRefused,
)
from app.calls.log_writer import CallLogWriter
from app.calls.outbound import OutboundCalls
from app.calls.queueing import QueueingMixin
from app.calls.survey import SurveyMixin
from app.calls.state import CallState, EndReason, Trigger, ending, next_state
from app.clock import Clock
from app.complaints import service as complaints
from app.customers import service as customers
from app.desk.notifier import DeskNotifier
from app.config import Settings
from app.errors import AppError
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage
from app.telephony import Telephony
from ivr import interpreter as ivr
from ivr import service as ivr_store
from ivr.lookup import LookupFailed, Lookups
from ivr.menu import HangupNode
from ivr.runtime import MenuRuntime
from routing.engine import Acd, OfferMade
from routing.ring_rule import OfferOutcome

log = structlog.get_logger(__name__)

# The system prompt that plays in these states (prompts/system.yaml); playback "<call>.<state>".
SYSTEM_PROMPTS = {
    CallState.closing: ("queue_unavailable", "thanks"),
    CallState.failing: ("technical_problem",),
}


class CallFlow(QueueingMixin, SurveyMixin):
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 menus: MenuRuntime, lookups: Lookups, acd: Acd, submit: Any,
                 desk: DeskNotifier | None = None, recorder: Recorder | None = None,
                 call_log: CallLogWriter | None = None) -> None:
        self.settings = settings
        # The call log of live calls (timeline, call row, menu path), written behind (#9).
        self.call_log = call_log or CallLogWriter(sessionmaker)
        self.desk = desk or DeskNotifier()  # agents' screens (R3): pops, call and offer ends
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self.menus = menus
        self.lookups = lookups
        self.acd = acd
        self._submit = submit  # (channel_id, item) -> None: back into the call's own queue
        self.calls: dict[str, LiveCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # background writes (see _background)
        # Agents' legs -> the caller's channel: their events go into the caller's queue.
        self.legs: dict[str, str] = {}
        # R16: agent conversations of queues that record (started, paused, kept in our storage).
        self.recorder = recorder or Recorder(settings=settings, telephony=telephony,
                                             sessionmaker=sessionmaker, clock=clock,
                                             storage=LocalStorage(settings.storage_dir))
        # Call-backs (R17): their legs are in `legs` too, keyed by the call-back.
        self.outbound = OutboundCalls(settings=settings, telephony=telephony,
                                      sessionmaker=sessionmaker, clock=clock, acd=acd,
                                      submit=submit, desk=self.desk, legs=self.legs,
                                      recorder=self.recorder)

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
                elif call.state is CallState.survey:
                    await self._survey_key(call, item.digit)
            case PlaybackFinished():
                await self._playback_finished(call, item.playback.id, item.timestamp)
            case RecordingFinished() | RecordingFailed():
                if item.recording.name == call.recording:
                    saved = isinstance(item, RecordingFinished) and await self._save_voicemail(
                        call, item.recording.duration)
                    if call.state is CallState.voicemail:  # a queue's voicemail overflow
                        await self._message_done(call, saved)
                    elif call.ivr is not None and not call.hangup_requested:
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
            case SurveyTimer():
                await self._survey_silence(call, item.token)
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
            if row.state == CallState.ringing:
                call.ivr_steps = 0  # a new call: its path is empty
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
        """What we know of the caller before the menu: an open complaint (R6), important (R11).
        Read-only, so that the greeting is never held up; a caller not yet in the archive is
        added next to the menu (`_archive`)."""
        customer = None
        try:
            async with self.sessions() as session:
                customer = await customers.by_phone(session=session, number=call.caller_number)
                open_complaint = await complaints.has_open(
                    session=session, customer_number=customers.normalise(call.caller_number))
            call.priority = customers.priority(customer)
        except Exception as exc:  # noqa: BLE001 - without it the caller takes the main menu
            log.warning("call.facts_unavailable", error=repr(exc))
            open_complaint = False
        self._archive(call, customer.id if customer is not None else None)
        return ivr.Facts(caller_number=call.caller_number, has_open_complaint=open_complaint)

    def _archive(self, call: LiveCall, customer_id: uuid.UUID | None) -> None:
        """R14: every caller with a number is in the archive; the first call adds them. In the
        background: many first calls from one number at once wait on each other's insert. A
        known customer's link is a call row update like any other (the call log, #9)."""
        if customer_id is not None:
            call.customer_id = customer_id
            if call.persisted:
                self.call_log.update(call.id, customer_id=customer_id)
            return
        if customers.normalise(call.caller_number) is None:
            return

        async def link() -> None:
            try:
                async with self.sessions() as session, session.begin():
                    found = (await customers.match_or_create(
                        session=session, number=call.caller_number, language=call.language)).id
                    await service.update_call(session=session, call_id=call.id,
                                              customer_id=found)
                call.customer_id = found
            except Exception as exc:  # noqa: BLE001 - the call goes on without the link
                log.warning("call.customer_unlinked", error=repr(exc))

        self._background(link(), name=f"archive:{call.channel_id}")

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
                    await self._start_recording(call, str(action.token), action.max_seconds)
                case ivr.SetLanguage():
                    call.language = action.language
                    await self._update_call(call, language=action.language)
                case ivr.EnterQueue():
                    await self._enqueue(call, action)
                case ivr.Hangup():
                    await self._fire(call, Trigger.ivr_finished)
                    self._schedule(call, "grace", self.settings.closing_grace_seconds,
                                   GraceElapsed(call.channel_id))

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

    async def _start_recording(self, call: LiveCall, tag: str, max_seconds: int) -> None:
        """R8: record the caller's message (a beep first; `#`, silence or hanging up ends it).
        The menu's voicemail node and a queue's voicemail overflow both record here; the message
        is kept by `_save_voicemail` when Asterisk says the recording finished."""
        call.recording = f"voicemail-{call.id}-{tag}"
        await self.telephony.record(call.channel_id, name=call.recording, max_seconds=max_seconds)

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
                size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                **self._callback_terms())
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
        if call.ivr_steps is None:  # a call taken over after a restart: count on from its path
            async with self.sessions() as session:
                call.ivr_steps = await ivr_store.last_step(session=session, call_id=call.id)
        call.ivr_steps += 1
        self.call_log.ivr_step(call_id=call.id, seq=call.ivr_steps, at=self.clock.now(),
                               node=step.node, input=step.input, outcome=step.outcome)

    # -- prompts and endings ----------------------------------------------------------------
    def _system_media(self, call: LiveCall, names: tuple[str, ...]) -> list[str]:
        language = call.language if call.language in ("zh", "en") else self.settings.default_language
        base = self.settings.prompt_dir.rstrip("/")
        return [f"sound:{base}/{language}/{name}" for name in names]

    async def _play_system(self, call: LiveCall) -> None:
        names = SYSTEM_PROMPTS[call.state]
        if call.state is CallState.closing and call.voicemail and call.left_message:  # overflow (R8)
            names = ("voicemail_saved", "thanks")
        await self.telephony.play(call.channel_id, self._system_media(call, names),
                                  playback_id=f"{call.id}.{call.state}", lang=call.language)

    async def _playback_finished(self, call: LiveCall, playback_id: str, at: datetime | None) -> None:
        if call.hangup_requested:
            return  # cut short by the hang-up, not played to the end
        if self._survey_prompt_done(call, playback_id):
            return
        prefix = f"{call.id}.ivr"
        if call.state is CallState.in_ivr and playback_id.startswith(prefix):
            token = playback_id.removeprefix(prefix)
            if token.isdigit():
                await self._ivr_input(call, ivr.PromptDone(int(token)))
            return
        if call.state is CallState.voicemail and playback_id == f"{call.id}.voicemail":
            await self._record_message(call)
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
            await self._safely(self.telephony.destroy_bridge(f"hold-{call.id}"))
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
        elif call.state is CallState.voicemail and not call.left_message:
            await self._safely(self._promise_call_back(call, "left no message"))
        state = call.state
        if state is CallState.in_ivr and self._saying_goodbye(call):
            state = CallState.closing  # the menu's own thanks (R2): the call ran its course
        reason, by = ending(state, failed_before=call.failed, left_message=call.left_message,
                            agent_hung_up=call.agent_hung_up, overflowed=call.overflowed)
        if reason is EndReason.abandoned_in_queue:  # R8: nobody took the call: we call back
            await self._safely(self._call_back_abandoned(call))
        await self._fire(call, Trigger.channel_gone, at=at,
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
            await self._fire(call, Trigger.lost_track, at=call.last_seen_at,
                             detail={"last_seen_at": call.last_seen_at.isoformat()},
                             ended_at=call.last_seen_at, end_reason=EndReason.lost_track)
            self.recorder.finish_open(call.id)  # R16: keep what Asterisk recorded of it
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
            case CallState.voicemail:
                await self._resync_voicemail(call)
            case CallState.survey:
                await self._resync_survey(call)
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
        await self._fire(call, Trigger.failed, detail={"error": repr(exc)[:300]})
        try:
            if was_ringing:
                await self.telephony.answer(call.channel_id)
            await self._play_system(call)
        except Exception as play_exc:  # noqa: BLE001
            log.error("call.apology_failed", error=repr(play_exc))
            await self._fire(call, Trigger.hang_up)
            await self._safely(self._hang_up(call))

    def _background(self, coro: Any, *, name: str) -> None:
        """Run a write beside the call's own worker, holding a reference until it is done."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _safely(self, coro: Any) -> None:
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            log.error("call.cleanup_failed", error=repr(exc))

    # -- helpers ----------------------------------------------------------------------------
    async def _fire(self, call: LiveCall, trigger: Trigger, *, at: datetime | None = None,
                    detail: dict[str, Any] | None = None, **updates: Any) -> None:
        """The one choke point for state changes: check, log, persist, then apply.

        The timeline row and the call row's update are written behind (`app.calls.log_writer`):
        a failure to store them is logged there and does not change the call's course (#9)."""
        to = next_state(call.state, trigger)
        at = at or self.clock.now()
        seq = call.seq + 1
        log.info("call.transition", from_state=call.state, trigger=trigger, to_state=to)
        if call.persisted:  # written behind (#9): see app.calls.log_writer
            self.call_log.transition(call_id=call.id, seq=seq, at=at, from_state=call.state,
                                     trigger=trigger, to_state=to, detail=detail or {},
                                     updates=updates)
        call.seq, call.state = seq, to
        call.last_seen_at = max(call.last_seen_at, at)

    async def _update_call(self, call: LiveCall, **values: Any) -> None:
        """Change fields of the call's row that are not its state (written behind, #9)."""
        if call.persisted:
            self.call_log.update(call.id, **values)

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
        await self.outbound.close()
        await self.recorder.close()
        await self.call_log.close()


def _write_file(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.rename(target)
