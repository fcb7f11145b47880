"""The call flow's side of the ACD: a call that the menu hands to a queue waits with music and
announcements (R9), is offered to agents under the three-ring rule (R1) and bridged with the
one who answers (with an apology when late), overflows, and is transferred blind or warm (R12).

A mixin of `CallFlow` (app.calls.flow): these methods run in the call's own worker, in order
with its events, and use the flow's choke point (`_fire`) and timers.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    ChannelDestroyed, ChannelHangupRequest, ChannelStateChange, StasisEnd, StasisStart,
)
from app.callbacks import service as callbacks
from app.callbacks.models import CallbackSource
from app.calls.items import (
    Announce, ConsultRingLimit, Item, LiveCall, LiveOffer, MaxWait, RingLimit, Transfer,
    TransferRefused,
)
from app.calls.state import CallState, Trigger
from app.desk import screen_pop
from app.desk.messages import ScreenPop
from app import latency
from app.metrics import QUEUE_TO_RING_SECONDS, SCREEN_POP_SECONDS
from app.complaints import service as complaints
from ivr import interpreter as ivr
from routing import overflow
from routing import offers as offer_store
from routing import ring_rule
from routing.engine import OfferMade
from routing.overflow import Join
from routing.ring_rule import OfferOutcome
from routing.seniority import LevelNeed, level_needed, stricter
from routing.strategies import Level

log = structlog.get_logger(__name__)
POP_WAIT_SECONDS = 1.0  # a pop not built by then is not worth holding the ring-limit timer for


def outcome_of(cause: int | None) -> OfferOutcome:
    """An agent's leg that ended unanswered, by its Q.850 cause: busy, rejected, or no answer."""
    return {17: OfferOutcome.busy, 21: OfferOutcome.rejected}.get(cause or 0, OfferOutcome.no_answer)


class QueueingMixin:
    """Needs from CallFlow: settings, telephony, sessions, clock, acd, legs, _fire, _schedule,
    _cancel_timer, _safely, _hang_up, _play_system, _system_media, _update_call,
    _start_recording, recorder (app.recordings.recorder)."""

    settings: Any
    telephony: Any
    sessions: Any
    clock: Any
    acd: Any
    desk: Any
    recorder: Any
    legs: dict[str, str]

    async def _enqueue(self, call: LiveCall, action: ivr.EnterQueue) -> None:
        """R9: wait for an agent with music on hold. A queue that is not set up, or that nobody
        logged in could serve (at the level the call needs, R10), is not joined: its overflow
        applies at once (another queue, voicemail, or a call-back; `routing.overflow`)."""
        need = await self._level_need(call)
        call.min_level = stricter(call.min_level, need.level if need else None)
        routed = self._route(call, action.queue, language=action.language)
        if not isinstance(routed.decision, Join):
            await self._overflow_to(call, action.queue, routed)
            return
        queue = routed.decision.queue
        config = self.acd.queue(queue)
        now = self.clock.now()
        call.queue, call.enqueued_at = queue, now
        detail: dict[str, Any] = {"queue": queue, "call_type": action.call_type,
                                  "skills": list(action.skills), "language": action.language}
        if routed.overflowed:  # nobody there: the menu's queue passed the call on
            detail |= {"overflow_from": action.queue, "why": str(routed.why), "via": list(routed.via)}
        if need is not None:  # R10: why only seniors are offered it
            detail |= {"min_level": str(need.level), "min_level_why": need.why}
        if self._records(queue):  # R16: recorded with an agent; the caller is told first
            detail["recording_notice"] = True
        await self._fire(call, Trigger.enqueued, ivr_outcome=f"queue:{action.queue}",
                         queue=queue, enqueued_at=now, priority=call.priority, detail=detail)
        await self._hold(call, config.moh_class)
        await self._recording_notice(call)
        self._schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))
        await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=queue,
                               language=action.language, priority=call.priority, enqueued_at=now,
                               min_level=call.min_level)
        if config.announce_every_seconds and call.id in self.acd.waiting:
            await self._announce(call)  # on entry, unless an agent was free at once

    async def _level_need(self, call: LiveCall) -> LevelNeed | None:
        """R10: a caller with an open major (or crisis) complaint needs a senior agent."""
        try:
            async with self.sessions() as session:
                severities = await complaints.open_severities(
                    session=session, customer_number=call.caller_number)
        except Exception as exc:  # noqa: BLE001 - without it the call still reaches an agent
            log.warning("call.complaint_severities_unavailable", error=repr(exc))
            severities = []
        return level_needed(severities, escalated=call.min_level is Level.senior)

    def _route(self, call: LiveCall, queue: str, *, language: str,
               waited: bool = False) -> overflow.Routed:
        """Where the call goes: `queue`, or its overflow (pure: `routing.overflow.route`)."""
        overflows = {name: config.overflow for name, config in self.acd.queues.items()}
        return overflow.route(queue, overflows=overflows, waited=waited, staffed=lambda name: (
            self.acd.staffed(name, language, call.min_level)))

    async def _overflow_to(self, call: LiveCall, queue: str, routed: overflow.Routed) -> None:
        """The queue cannot serve the call: voicemail or a promised call-back (R8)."""
        why = {overflow.Why.no_queue: f"no queue {queue!r} is set up",
               overflow.Why.nobody_logged_in: "no agent is logged in for this queue"
               if call.min_level is None else f"no {call.min_level} agent is logged in for this queue",
               overflow.Why.max_wait: "waited the queue's maximum"}[routed.why or overflow.Why.max_wait]
        if call.state is CallState.in_queue:
            await self._unhold(call)
        if isinstance(routed.decision, overflow.ToVoicemail):
            await self._to_voicemail(call, queue, routed, why)
        else:
            await self._no_agent(call, queue, why, via=routed.via)

    async def _hold(self, call: LiveCall, moh_class: str) -> None:
        """The waiting caller sits alone in a holding bridge with music (R9). Announcements play
        on that bridge, not on the caller's channel: a playback on a channel holds every later
        ARI command on it (joining the agent's bridge) until the playback ends."""
        bridge = f"hold-{call.id}"
        await self.telephony.create_bridge(bridge, kind="holding")
        await self.telephony.add_to_bridge(bridge, [call.channel_id])
        await self.telephony.start_bridge_moh(bridge, moh_class=moh_class)

    async def _unhold(self, call: LiveCall) -> None:
        bridge = f"hold-{call.id}"
        await self._safely(self.telephony.remove_from_bridge(bridge, [call.channel_id]))
        await self._safely(self.telephony.destroy_bridge(bridge))

    async def _announce(self, call: LiveCall) -> None:
        """Position and estimated wait (R9), over the music; and again after a while."""
        prompts = self.acd.announcement(call.id)
        config = self.acd.queue(call.queue or "")
        if prompts is None or config is None:
            return
        await self.telephony.play_on_bridge(f"hold-{call.id}",
                                            self._system_media(call, tuple(prompts)),
                                            playback_id=f"{call.id}.announce")
        if config.announce_every_seconds:
            self._schedule(call, "announce", config.announce_every_seconds, Announce(call.channel_id))

    async def _no_agent(self, call: LiveCall, queue: str | None, why: str,
                        via: tuple[str, ...] = ()) -> None:
        """Nobody can take the call: say so, open a call-back task (R8), thank the caller. The
        call ends as `overflow`: the caller wanted a person and got a promise."""
        call.overflowed = True
        await self._promise_call_back(call, why)
        await self._fire(call, Trigger.no_agent,
                         detail={"queue": queue, "why": why, "overflow": "callback"}
                         | ({"via": list(via)} if via else {}),
                         **({"ivr_outcome": f"queue:{queue}"} if call.state is CallState.in_ivr
                            and queue else {}))
        await self._play_system(call)

    async def _promise_call_back(self, call: LiveCall, why: str) -> None:
        async with self.sessions() as session, session.begin():
            await callbacks.open_task(
                session=session, source=CallbackSource.no_agent, customer_number=call.caller_number,
                language=call.language, call_id=call.id, note=why, **self._callback_terms())

    async def _call_back_abandoned(self, call: LiveCall) -> None:
        """The caller hung up waiting: a call-back task (one per number while it is open)."""
        async with self.sessions() as session, session.begin():
            await callbacks.open_abandoned(session=session, customer_number=call.caller_number,
                                           language=call.language, call_id=call.id,
                                           **self._callback_terms())

    def _callback_terms(self) -> dict[str, Any]:
        """When a new call-back task is due and how often it may be tried (settings)."""
        return {"due_at": self.clock.now() + timedelta(hours=self.settings.callback_due_hours),
                "max_attempts": self.settings.callback_max_attempts}

    # -- voicemail overflow (R8) -------------------------------------------------------------
    async def _to_voicemail(self, call: LiveCall, queue: str, routed: overflow.Routed,
                            why: str) -> None:
        """The queue's overflow is voicemail: its prompt, then the caller leaves a message (the
        recording is the menu's voicemail's: `_start_recording`, `_save_voicemail`)."""
        settings = routed.decision
        assert isinstance(settings, overflow.ToVoicemail)
        call.overflowed, call.voicemail = True, settings
        await self._fire(call, Trigger.to_voicemail,
                         detail={"queue": queue, "why": why, "overflow": "voicemail",
                                 "via": list(routed.via), "max_seconds": settings.max_seconds},
                         **({"ivr_outcome": f"queue:{queue}"} if call.state is CallState.in_ivr
                            else {}))
        await self.telephony.play(call.channel_id, self._system_media(call, settings.prompt),
                                  playback_id=f"{call.id}.voicemail", lang=call.language)

    async def _record_message(self, call: LiveCall) -> None:
        """The voicemail prompt has played: record (a beep first, `#` ends it)."""
        if call.recording is not None:
            return
        settings = call.voicemail or overflow.ToVoicemail()
        await self._start_recording(call, "overflow", settings.max_seconds)

    async def _message_done(self, call: LiveCall, saved: bool) -> None:
        """The recording ended: thanks (and, with no message, the promise of a call-back)."""
        if call.hangup_requested or call.state is not CallState.voicemail:
            return  # the hang-up ends the call (`_gone` keeps the message)
        if not saved:
            await self._promise_call_back(call, "left no message")
        await self._fire(call, Trigger.message_done, detail={"message_left": saved})
        await self._play_system(call)

    async def _resync_voicemail(self, call: LiveCall) -> None:
        """A call in the voicemail overflow after a drop: carry on. After a restart we know
        nothing of its recording: the caller is promised a call-back."""
        if call.voicemail is None:
            call.overflowed = True
            await self._message_done(call, False)
        elif call.recording is None and (
                await self.telephony.get_playback(f"{call.id}.voicemail") is None):
            await self._record_message(call)

    async def _offer(self, call: LiveCall, made: OfferMade) -> None:
        """Ring the agent the ACD chose; R1: at most the ring limit."""
        if call.state is not CallState.in_queue or call.hangup_requested:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            return
        now = self.clock.now()
        self._cancel_timer(call, "announce")  # no announcement while an agent's phone rings
        leg = f"agent-{made.offer_id}"
        call.offer = LiveOffer(id=made.offer_id, agent_id=made.agent_id, channel_id=leg,
                               offered_at=now, call_id=call.id, met_at=made.met_at)
        call.offer.pop = self._prepare_pop(call, call.offer, "queue")
        self.legs[leg] = call.channel_id
        self._schedule(call, "ring", self.settings.ring_limit_seconds,
                       RingLimit(call.channel_id, made.offer_id))
        # The phone is dialled first and the offer stored while it starts ringing: the leg's
        # events are handled in this call's queue after this, so they find the offer stored.
        try:
            await self.telephony.originate(
                made.endpoint, channel_id=leg, app_args=f"agent,{call.id}",
                caller_id=call.caller_number or "", timeout=int(self.settings.ring_limit_seconds) + 10)
        except AriError as exc:
            log.warning("call.offer_failed", agent=str(made.agent_id), error=str(exc))
            failed = True
        else:
            failed = False
            self._queue_to_ring(call.offer, "dialled")
        async with self.sessions() as session, session.begin():
            await offer_store.create(session=session, offer_id=made.offer_id, call_id=call.id,
                                     agent_id=made.agent_id, queue=made.queue, channel_id=leg,
                                     offered_at=now)
        if failed:
            await self._offer_failed(call, OfferOutcome.busy)

    async def _on_agent_leg(self, call: LiveCall, item: Item) -> None:
        offer, leg = call.offer, item.channel.id  # type: ignore[union-attr]
        if call.consult is not None and leg == call.consult.channel_id:
            await self._on_consult_leg(call, item)
            return
        match item:
            case ChannelStateChange() if offer and leg == offer.channel_id:
                if item.channel.state == "Ringing" and offer.ringing_at is None:
                    await self._rings(call, offer, "ring", RingLimit(call.channel_id, offer.id))
            case StasisStart():
                await self._agent_answered(call, item)
            case ChannelDestroyed() | ChannelHangupRequest() if offer and leg == offer.channel_id:
                await self._offer_failed(call, outcome_of(item.cause), leg_gone=True)
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
                if not await self._offer_survey(call):  # R17: the queue may ask for a rating
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
        call.offer, call.agent_id, call.agent_channel = None, offer.agent_id, offer.channel_id
        rings = await self._answered(offer, now)
        waited = (now - (call.enqueued_at or now)).total_seconds()
        apology = ring_rule.apology_due(waited, self.settings.ring_limit_seconds)
        self.desk.connected(offer.agent_id, offer_id=offer.id, call_id=call.id, apology_due=apology)
        notice_cut = await self._notice_playing(call)  # leaving the holding bridge cuts it
        await self._unhold(call)
        bridge = f"call-{call.id}"
        await self.telephony.create_bridge(bridge)
        await self.telephony.add_to_bridge(bridge, [call.channel_id, offer.channel_id])
        first = call.owner_id is None
        call.owner_id = call.owner_id or offer.agent_id
        owner = {"agent_id": offer.agent_id, "connected_at": now} if first else {}
        await self._fire(call, Trigger.agent_connected, apology_due=apology, **owner,
                         detail={"agent_id": str(offer.agent_id), "waited_seconds": round(waited, 3),
                                 "rings": rings, "apology_due": apology})
        await self._record_conversation(call)  # R16: before the apology, which is part of it
        if notice_cut:  # R16: the caller had not heard the whole notice; both hear it now
            await self._safely(self.telephony.play_on_bridge(
                bridge, self._system_media(call, ("recording_notice",)),
                playback_id=f"{call.id}.recording_notice.again"))
        if apology:  # R1: a call answered late starts with an apology (both hear it)
            await self._safely(self.telephony.play_on_bridge(
                bridge, self._system_media(call, ("apology",)), playback_id=f"{call.id}.apology"))

    # -- recording (R16) --------------------------------------------------------------------
    def _records(self, queue: str | None) -> bool:
        config = self.acd.queue(queue or "")
        return bool(config is not None and config.record_calls)

    async def _record_conversation(self, call: LiveCall) -> None:
        """R16: one recording per agent conversation, of the call's bridge, if its queue
        records (`app.recordings.recorder`; a failure there never touches the call)."""
        if self._records(call.queue):
            await self.recorder.start(call_id=call.id, agent_id=call.agent_id, queue=call.queue,
                                      bridge_id=f"call-{call.id}")

    async def _notice_playing(self, call: LiveCall) -> bool:
        """R16: whether the recording notice is still playing to the caller (the agent answered
        while it played on the holding bridge); only asked in queues that record."""
        if not call.recording_notice or not self._records(call.queue):
            return False
        try:
            return await self.telephony.get_playback(f"{call.id}.recording_notice") is not None
        except AriError:
            return True  # unknown: better told twice than not at all

    async def _recording_notice(self, call: LiveCall) -> None:
        """R16: the caller is told the call may be recorded before waiting in a queue that
        records; on the holding bridge, before any announcement (bridge playbacks queue up)."""
        if call.recording_notice or not self._records(call.queue):
            return
        call.recording_notice = True
        await self._safely(self.telephony.play_on_bridge(
            f"hold-{call.id}", self._system_media(call, ("recording_notice",)),
            playback_id=f"{call.id}.recording_notice"))

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
        min_level = stricter(Level.senior if req.escalate else None, call.min_level)  # R10
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
        await self._hold(call, config.moh_class)
        await self._recording_notice(call)
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
                                      queue=call.queue or "", min_level=call.min_level)  # R10
        bridge, now = f"call-{call.id}", self.clock.now()
        try:
            await self.telephony.remove_from_bridge(bridge, [call.channel_id])
            await self.telephony.start_moh(call.channel_id)
        except Exception:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            raise
        leg = f"consult-{made.offer_id}"
        call.consult, call.consult_answered = LiveOffer(
            id=made.offer_id, agent_id=made.agent_id, channel_id=leg, offered_at=now,
            call_id=call.id), False
        call.consult.pop = self._prepare_pop(call, call.consult, "consult")
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
                made.endpoint, channel_id=leg, app_args=f"consult,{call.id}",
                caller_id=call.caller_number or "", timeout=int(self.settings.ring_limit_seconds) + 10)
        except AriError:
            await self._consult_ended(call, OfferOutcome.busy, leg_gone=True)

    async def _on_consult_leg(self, call: LiveCall, item: Item) -> None:
        consult = call.consult
        assert consult is not None
        match item:
            case ChannelStateChange() if item.channel.state == "Ringing" and not consult.ringing_at:
                await self._rings(call, consult, "consult_ring",
                                  ConsultRingLimit(call.channel_id, consult.id))
            case StasisStart() if not call.consult_answered:
                self._cancel_timer(call, "consult_ring")
                self.desk.connected(consult.agent_id, offer_id=consult.id, call_id=call.id,
                                    apology_due=False)
                await self._answered(consult, self.clock.now())
                await self.telephony.add_to_bridge(f"call-{call.id}", [consult.channel_id])
                call.consult_answered = True
                await self._fire(call, Trigger.consult_answered)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest():
                if call.consult_answered:  # the colleague hung up: back to the first agent
                    await self._consult_cancel(call, None, leg_gone=True)
                else:
                    await self._consult_ended(call, outcome_of(getattr(item, "cause", None)),
                                              leg_gone=True)

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
        await self._closed(consult, outcome)
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
        await self.recorder.stop(call.id)  # R16: the first agent's conversation ends here
        call.agent_id, call.agent_channel = consult.agent_id, consult.channel_id
        call.consult, call.consult_answered = None, False
        await self._safely(self.telephony.stop_moh(call.channel_id))
        await self.telephony.add_to_bridge(f"call-{call.id}", [call.channel_id])
        await self._fire(call, Trigger.consult_completed,
                         detail={"from_agent": str(first), "to_agent": str(consult.agent_id)})
        await self._record_conversation(call)  # and the new agent's starts

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
        log.info("call.offer_missed", agent=str(offer.agent_id), outcome=outcome)
        await self._closed(offer, outcome)
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
        """The call waited its queue's maximum: the queue's overflow (another queue with someone
        there, voicemail, or a promised call-back; `routing.overflow`)."""
        await self.acd.remove(call.id)
        if call.offer is not None:
            await self._offer_failed(call, OfferOutcome.cancelled)
        queue = call.queue or ""
        self._cancel_timer(call, "announce")
        routed = self._route(call, queue, language=call.language, waited=True)
        if not isinstance(routed.decision, Join):
            await self._overflow_to(call, queue, routed)
            return
        call.queue = routed.decision.queue
        await self._fire(call, Trigger.overflowed, queue=call.queue,
                         detail={"from_queue": queue, "queue": call.queue, "why": str(routed.why),
                                 "via": list(routed.via)})
        config = self.acd.queue(call.queue)
        await self._recording_notice(call)
        self._schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))
        await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=call.queue,
                               language=call.language, priority=call.priority,
                               enqueued_at=call.enqueued_at or self.clock.now(),
                               excluded=frozenset(call.excluded), min_level=call.min_level)
        if config.announce_every_seconds and call.id in self.acd.waiting:
            self._schedule(call, "announce", config.announce_every_seconds,
                           Announce(call.channel_id))

    async def _end_agent_call(self, call: LiveCall) -> None:
        if call.agent_id is not None:
            self.desk.call_ended(call.agent_id, call_id=call.id,
                                 hangup_by="agent" if call.agent_hung_up else None)
            await self.acd.call_ended(call.agent_id, call.queue)
        await self.recorder.stop(call.id)  # R16: the agent's conversation is over
        await self._safely(self.telephony.destroy_bridge(f"call-{call.id}"))

    # -- an offer's record (R1), for queue offers and consultations alike -------------------
    async def _rings(self, call: LiveCall, offer: LiveOffer, timer: str, item: Item) -> None:
        """The phone rings: R1 counts rings, so the limit runs from the first ring."""
        offer.ringing_at = self.clock.now()
        self._queue_to_ring(offer, "ringing", at=latency.received())
        self._schedule(call, timer, self.settings.ring_limit_seconds, item)
        sent = await self._send_pop(offer)
        await self._update_offer(offer, ringing_at=offer.ringing_at,
                                 **({"pop_sent_at": sent} if sent else {}))

    def _queue_to_ring(self, offer: LiveOffer | None, stage: str, *,
                       at: float | None = None) -> None:
        """Our queue-to-agent-ring latency (#9), for offers the ACD made from its queue; `at`:
        when it happened (the phone rings when Asterisk tells us so), else now."""
        if offer is not None and offer.met_at is not None:
            QUEUE_TO_RING_SECONDS.labels(stage=stage).observe(
                max((at if at is not None else self.clock.monotonic()) - offer.met_at, 0.0))

    # -- the agent's screen (R3, R14) -------------------------------------------------------
    def _prepare_pop(self, call: LiveCall, offer: LiveOffer, kind: str) -> asyncio.Task | None:
        """Build the screen pop while the agent's phone is dialled, only if the agent has a
        desktop open (else nobody would see it)."""
        if not self.desk.watching(offer.agent_id):
            return None

        async def build() -> ScreenPop:
            async with self.sessions() as session:
                return await screen_pop.build(
                    session=session, offer_id=offer.id, call_id=call.id, kind=kind,
                    queue=call.queue, caller_number=call.caller_number,
                    customer_id=call.customer_id, language=call.language,
                    enqueued_at=call.enqueued_at, now=self.clock.now(),
                    ring_limit_seconds=self.settings.ring_limit_seconds,
                    calls=self.settings.screen_pop_calls)

        return asyncio.create_task(build(), name=f"pop:{offer.id}")

    async def _send_pop(self, offer: LiveOffer) -> datetime | None:
        """The moment the phone rings, the pop goes to the agent's screen; when it was sent."""
        if offer.pop is None:
            return None
        try:
            pop = await asyncio.wait_for(asyncio.shield(offer.pop), POP_WAIT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the call goes on without a pop
            log.warning("desk.pop_failed", offer=str(offer.id), error=repr(exc))
            return None
        pop = screen_pop.at_ring(pop, ringing_at=offer.ringing_at or self.clock.now(),
                                 ring_limit_seconds=self.settings.ring_limit_seconds)
        if not self.desk.offer_ringing(offer.agent_id, pop):
            return None
        sent = self.clock.now()
        SCREEN_POP_SECONDS.labels(stage="sent").observe(
            max((sent - (offer.ringing_at or sent)).total_seconds(), 0.0))
        return sent

    async def _answered(self, offer: LiveOffer, now: datetime) -> int:
        """Store the answer with its rings, tell the ACD; the rings it took."""
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=now, ended_at=None,
                                       outcome=OfferOutcome.answered)
        rings = record.rings(self.settings.ring_cycle_seconds)
        await self._update_offer(offer, answered_at=now, outcome=OfferOutcome.answered,
                                 ring_seconds=record.ring_seconds, rings=rings)
        await self.acd.offer_ended(offer.agent_id, OfferOutcome.answered)
        return rings

    async def _closed(self, offer: LiveOffer, outcome: OfferOutcome) -> None:
        """Store an offer that was not answered and tell the ACD (which may pause the agent)."""
        if offer.pop is not None:
            offer.pop.cancel()
        if offer.call_id is not None:
            self.desk.offer_ended(offer.agent_id, offer_id=offer.id, call_id=offer.call_id,
                                  outcome=str(outcome))
        now = self.clock.now()
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=None, ended_at=now, outcome=outcome)
        ring_seconds = record.ring_seconds
        if outcome is OfferOutcome.no_answer:  # cut at the limit: our own latency is no ring
            ring_seconds = min(ring_seconds, self.settings.ring_limit_seconds)
        await self._update_offer(offer, ended_at=now, outcome=outcome, ring_seconds=ring_seconds,
                                 rings=ring_rule.rings(ring_seconds, self.settings.ring_cycle_seconds))
        await self.acd.offer_ended(offer.agent_id, outcome)

    async def _update_offer(self, offer: LiveOffer, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await offer_store.update_offer(session=session, offer_id=offer.id, **values)

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
            if call.min_level is None:  # after a restart: R10 again from the complaints
                need = await self._level_need(call)
                call.min_level = need.level if need else None
            self._schedule(call, "max_wait", self.acd.queue(call.queue).max_wait_seconds,
                           MaxWait(call.channel_id))
            await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=call.queue,
                                   language=call.language, priority=call.priority,
                                   enqueued_at=call.enqueued_at or self.clock.now(),
                                   excluded=frozenset(call.excluded), min_level=call.min_level)

    async def _resync_connected(self, call: LiveCall) -> None:
        """A call with an agent after a restart: find the agent's leg in the call's bridge."""
        if call.agent_channel is not None:
            return
        bridge = await self.telephony.get_bridge(f"call-{call.id}")
        # Agents' legs only: a bridge that is recorded holds Asterisk's recorder channel too.
        legs = [c for c in (bridge.channels if bridge else [])
                if c != call.channel_id and c.startswith(("agent-", "consult-"))]
        # R16: the recording Asterisk is still writing is the call's again (else it is kept now)
        await self._safely(self.recorder.reattach(call_id=call.id))
        if not legs:  # the agent is gone: end the call cleanly
            call.agent_hung_up = True
            await self._hang_up(call)
            return
        call.agent_channel = legs[0]
        self.legs[legs[0]] = call.channel_id
        await self._safely(self.telephony.subscribe(f"channel:{legs[0]}"))
