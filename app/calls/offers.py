"""Offers to agents' phones and the conversation that follows (R1, R3, R14, R16).

An offer (from the queue, to a named agent, or to consult a colleague) dials the agent's phone
and stores the offer; the first ring starts R1's ring limit and sends the screen pop, built
while the phone was dialled, to the agent's desk. The offer's record (rings, outcome) is kept
for every ending, and the ACD hears it (a miss may pause the agent). When a queue's offer is
answered the caller leaves the holding bridge for the call's bridge with the agent, the
conversation is recorded where the queue records (R16, the caller told first), and a caller who
waited past the ring limit hears an apology (R1). Each offer's progress is its own machine
(`app.calls.state.OfferState`).

What follows a miss (the next agent) is queue waiting's (`app.calls.waiting`), above this part.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import latency
from app.ari.errors import AriError, AriNotFound
from app.ari.events import StasisStart
from app.ari.models import Channel
from app.calls.items import LiveCall, LiveOffer
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, OfferEvent, OfferState, Trigger
from app.desk import screen_pop
from app.desk.messages import ScreenPop
from app.desk.notifier import DeskNotifier
from app.metrics import QUEUE_TO_RING_SECONDS, SCREEN_POP_SECONDS
from app.recordings.recorder import Recorder
from routing import offers as offer_store
from routing import ring_rule
from routing.engine import Acd, OfferMade
from routing.ring_rule import OfferOutcome

log = structlog.get_logger(__name__)
POP_WAIT_SECONDS = 1.0  # a pop not built by then is not worth holding the ring-limit timer for


def outcome_of(cause: int | None) -> OfferOutcome:
    """An agent's leg that ended unanswered, by its Q.850 cause: busy, rejected, or no answer."""
    return {17: OfferOutcome.busy, 21: OfferOutcome.rejected}.get(cause or 0, OfferOutcome.no_answer)


class Offers:
    def __init__(self, runtime: CallRuntime, *, acd: Acd, desk: DeskNotifier, recorder: Recorder,
                 sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.rt = runtime
        self.acd = acd
        self.desk = desk
        self.recorder = recorder
        self.sessions = sessionmaker

    # -- dialling ---------------------------------------------------------------------------
    async def dial(self, call: LiveCall, made: OfferMade, *, kind: str, timer: str,
                   item: object) -> tuple[LiveOffer, bool]:
        """Ring the agent's phone for `made`, store the offer; the offer and whether the phone
        could be dialled. The leg is `<kind>-<offer>` (`agent` for the queue, `consult`); its
        events go to the call's queue. `timer` fires `item` at the ring limit (R1)."""
        now = self.rt.clock.now()
        role = "agent" if kind == "queue" else kind  # the leg's name and its Stasis arguments
        leg = f"{role}-{made.offer_id}"
        offer = LiveOffer(id=made.offer_id, agent_id=made.agent_id, channel_id=leg,
                          offered_at=now, call_id=call.id, met_at=made.met_at)
        offer.pop = self._prepare_pop(call, offer, kind)
        self.rt.attach_leg(leg, call)
        self.rt.schedule(call, timer, self.rt.settings.ring_limit_seconds, item)
        # The phone is dialled first; the offer is written behind with the call log, in order
        # before its updates.
        try:
            await self.rt.telephony.originate(
                made.endpoint, channel_id=leg, app_args=f"{role},{call.id}",
                caller_id=call.caller_number or "",
                timeout=int(self.rt.settings.ring_limit_seconds) + 10)
        except AriError as exc:
            log.warning("call.offer_failed", agent=str(made.agent_id), error=str(exc))
            dialled = False
        else:
            dialled = True
            self._queue_to_ring(offer, "dialled")
        self.rt.call_log.open_offer(id=made.offer_id, call_id=call.id, agent_id=made.agent_id,
                                    queue=made.queue, channel_id=leg, offered_at=now)
        return offer, dialled

    async def rings(self, call: LiveCall, offer: LiveOffer, timer: str, item: object) -> None:
        """The phone rings: R1 counts rings, so the limit runs from the first ring; the screen
        pop goes to the agent's desk now."""
        if offer.state is not OfferState.dialling:
            return
        offer.step(OfferEvent.rings)
        offer.ringing_at = self.rt.clock.now()
        self._queue_to_ring(offer, "ringing", at=latency.received())
        self.rt.schedule(call, timer, self.rt.settings.ring_limit_seconds, item)
        sent = await self._send_pop(offer)
        await self._update_offer(offer, ringing_at=offer.ringing_at,
                                 **({"pop_sent_at": sent} if sent else {}))

    # -- an offer's end (R1), for queue offers and consultations alike -----------------------
    async def answered(self, offer: LiveOffer, now: datetime) -> int:
        """Store the answer with its rings, tell the ACD; the rings it took."""
        offer.step(OfferEvent.answer)
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=now, ended_at=None,
                                       outcome=OfferOutcome.answered)
        rings = record.rings(self.rt.settings.ring_cycle_seconds)
        await self._update_offer(offer, answered_at=now, outcome=OfferOutcome.answered,
                                 ring_seconds=record.ring_seconds, rings=rings)
        await self.acd.offer_ended(offer.agent_id, OfferOutcome.answered)
        return rings

    async def ended(self, call: LiveCall, offer: LiveOffer, outcome: OfferOutcome, *,
                    timer: str, leg_gone: bool) -> None:
        """The offer ended unanswered (R1: no answer in time, busy, rejected; or cancelled):
        its leg hung up, its record stored, the ACD told (which may pause the agent)."""
        offer.step(OfferEvent.end)
        self.rt.cancel(call, timer)
        if leg_gone:
            self.rt.detach_leg(offer.channel_id)
        else:
            await self.rt.drop_leg(offer.channel_id)  # cancel the ringing
        if offer.pop is not None:
            offer.pop.cancel()
        if offer.call_id is not None:
            self.desk.offer_ended(offer.agent_id, offer_id=offer.id, call_id=offer.call_id,
                                  outcome=str(outcome))
        now = self.rt.clock.now()
        record = ring_rule.OfferRecord(offered_at=offer.offered_at, ringing_at=offer.ringing_at,
                                       answered_at=None, ended_at=now, outcome=outcome)
        ring_seconds = record.ring_seconds
        if outcome is OfferOutcome.no_answer:  # cut at the limit: our own latency is no ring
            ring_seconds = min(ring_seconds, self.rt.settings.ring_limit_seconds)
        rings = ring_rule.rings(ring_seconds, self.rt.settings.ring_cycle_seconds)
        await self._update_offer(offer, ended_at=now, outcome=outcome, ring_seconds=ring_seconds,
                                 rings=rings)
        await self.acd.offer_ended(offer.agent_id, outcome)

    async def cancel_queue_offer(self, call: LiveCall, outcome: OfferOutcome, *,
                                 leg_gone: bool = False) -> LiveOffer | None:
        """The queue's offer of the call ends unanswered; the offer, if there was one."""
        offer, call.offer = call.offer, None
        if offer is not None:
            log.info("call.offer_missed", agent=str(offer.agent_id), outcome=outcome)
            await self.ended(call, offer, outcome, timer="ring", leg_gone=leg_gone)
        return offer

    # -- the conversation -------------------------------------------------------------------
    async def connect(self, call: LiveCall, event: StasisStart) -> None:
        """The offered agent answered: caller and agent bridged (R9), recorded (R16), with an
        apology when the caller waited past the ring limit (R1). A leg answering too late is
        not wanted."""
        offer = call.offer
        if (offer is None or event.channel.id != offer.channel_id
                or call.state is not CallState.in_queue):
            await self.rt.drop_leg(event.channel.id)
            return
        rt, now = self.rt, self.rt.clock.now()  # the offer's times all come from one clock
        rt.cancel(call, "ring", "max_wait", "announce")
        call.offer, call.agent_id, call.agent_channel = None, offer.agent_id, offer.channel_id
        rings = await self.answered(offer, now)
        waited = (now - (call.enqueued_at or now)).total_seconds()
        apology = ring_rule.apology_due(waited, rt.settings.ring_limit_seconds)
        self.desk.connected(offer.agent_id, offer_id=offer.id, call_id=call.id, apology_due=apology)
        notice_cut = await self._notice_playing(call)  # leaving the holding bridge cuts it
        await rt.unhold(call, call.channel_id)
        bridge = rt.call_bridge(call)
        await rt.telephony.create_bridge(bridge)
        await rt.telephony.add_to_bridge(bridge, [call.channel_id, offer.channel_id])
        first = call.owner_id is None
        call.owner_id = call.owner_id or offer.agent_id
        owner = {"agent_id": offer.agent_id, "connected_at": now} if first else {}
        rt.fire(call, Trigger.agent_connected, apology_due=apology, **owner,
                detail={"agent_id": str(offer.agent_id), "waited_seconds": round(waited, 3),
                        "rings": rings, "apology_due": apology})
        await self.record_conversation(call)  # R16: before the apology, which is part of it
        if notice_cut:  # R16: the caller had not heard the whole notice; both hear it now
            await rt.safely(rt.play_on_bridge(call, bridge, ("recording_notice",),
                                              playback_id=f"{call.id}.recording_notice.again"))
        if apology:  # R1: a call answered late starts with an apology (both hear it)
            await rt.safely(rt.play_on_bridge(call, bridge, ("apology",),
                                              playback_id=f"{call.id}.apology"))

    async def end_conversation(self, call: LiveCall) -> None:
        """The agent's part of the call is over: the desk and the ACD told (wrap-up, R13), the
        recording stopped (R16), the call's bridge gone."""
        if call.agent_id is not None:
            self.desk.call_ended(call.agent_id, call_id=call.id,
                                 hangup_by="agent" if call.agent_hung_up else None)
            await self.acd.call_ended(call.agent_id, call.queue)
        await self.recorder.stop(call.id)
        await self.rt.safely(self.rt.telephony.destroy_bridge(self.rt.call_bridge(call)))

    async def release(self, call: LiveCall) -> None:
        """The caller is gone: an offer ringing is cancelled, an agent talking is hung up and
        goes to wrap-up."""
        await self.cancel_queue_offer(call, OfferOutcome.cancelled)
        if call.state is CallState.connected:
            await self.rt.drop_leg(call.agent_channel)
            call.agent_channel = None
            await self.end_conversation(call)

    async def resync_connected(self, call: LiveCall) -> None:
        """A call with an agent after a restart: find the agent's leg in the call's bridge."""
        if call.agent_channel is not None:
            return
        bridge = await self.rt.telephony.get_bridge(self.rt.call_bridge(call))
        # Agents' legs only: a bridge that is recorded holds Asterisk's recorder channel too.
        legs = [c for c in (bridge.channels if bridge else [])
                if c != call.channel_id and c.startswith(("agent-", "consult-"))]
        # R16: the recording Asterisk is still writing is the call's again (else it is kept now)
        await self.rt.safely(self.recorder.reattach(call_id=call.id))
        if not legs:  # the agent is gone: end the call cleanly (the ACD hears it at the end)
            call.agent_hung_up = True
            await self.rt.hang_up(call.channel_id)
            return
        call.agent_channel = legs[0]
        # The agent talking now (after a transfer, not the owner the row names): the offer
        # whose leg it is, `agent-<offer id>` or `consult-<offer id>`.
        try:
            async with self.sessions() as session:
                agent = await offer_store.agent_of(
                    session=session, offer_id=uuid.UUID(legs[0].split("-", 1)[1]))
            call.agent_id = agent or call.agent_id
        except Exception as exc:  # noqa: BLE001 - the owner is the best guess left
            log.warning("call.agent_of_leg_unknown", leg=legs[0], error=repr(exc))
        self.rt.attach_leg(legs[0], call)
        await self.rt.safely(self.rt.telephony.subscribe(f"channel:{legs[0]}"))

    async def leg(self, offer: LiveOffer) -> Channel | None:
        """After a drop: the offered leg as Asterisk has it (None: gone)."""
        try:
            return await self.rt.telephony.get_channel(offer.channel_id)
        except AriNotFound:
            return None

    # -- recording (R16) --------------------------------------------------------------------
    def records(self, queue: str | None) -> bool:
        config = self.acd.queue(queue or "")
        return bool(config is not None and config.record_calls)

    async def record_conversation(self, call: LiveCall) -> None:
        """R16: one recording per agent conversation, of the call's bridge, if its queue
        records (`app.recordings.recorder`; a failure there never touches the call)."""
        if self.records(call.queue):
            await self.recorder.start(call_id=call.id, agent_id=call.agent_id, queue=call.queue,
                                      bridge_id=self.rt.call_bridge(call))

    async def recording_notice(self, call: LiveCall) -> None:
        """R16: the caller is told the call may be recorded before waiting in a queue that
        records; on the holding bridge, before any announcement (bridge playbacks queue up)."""
        if call.recording_notice or not self.records(call.queue):
            return
        call.recording_notice = True
        await self.rt.safely(self.rt.play_on_bridge(call, self.rt.holding_bridge(call),
                                                    ("recording_notice",),
                                                    playback_id=f"{call.id}.recording_notice"))

    async def _notice_playing(self, call: LiveCall) -> bool:
        """R16: whether the recording notice is still playing to the caller (the agent answered
        while it played on the holding bridge); only asked in queues that record."""
        if not call.recording_notice or not self.records(call.queue):
            return False
        try:
            return await self.rt.telephony.get_playback(f"{call.id}.recording_notice") is not None
        except AriError:
            return True  # unknown: better told twice than not at all

    # -- the agent's screen (R3, R14) -------------------------------------------------------
    def _prepare_pop(self, call: LiveCall, offer: LiveOffer, kind: str) -> asyncio.Task | None:
        """Build the screen pop while the agent's phone is dialled, only if the agent has a
        desktop open (else nobody would see it)."""
        if not self.desk.watching(offer.agent_id):
            return None
        settings, now = self.rt.settings, self.rt.clock.now()

        async def build() -> ScreenPop:
            async with self.sessions() as session:
                return await screen_pop.build(
                    session=session, offer_id=offer.id, call_id=call.id, kind=kind,
                    queue=call.queue, caller_number=call.caller_number,
                    customer_id=call.customer_id, language=call.language,
                    enqueued_at=call.enqueued_at, now=now,
                    ring_limit_seconds=settings.ring_limit_seconds,
                    calls=settings.screen_pop_calls)

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
        clock, limit = self.rt.clock, self.rt.settings.ring_limit_seconds
        pop = screen_pop.at_ring(pop, ringing_at=offer.ringing_at or clock.now(),
                                 ring_limit_seconds=limit)
        if not self.desk.offer_ringing(offer.agent_id, pop):
            return None
        sent = clock.now()
        SCREEN_POP_SECONDS.labels(stage="sent").observe(
            max((sent - (offer.ringing_at or sent)).total_seconds(), 0.0))
        return sent

    def _queue_to_ring(self, offer: LiveOffer, stage: str, *, at: float | None = None) -> None:
        """Our queue-to-agent-ring latency (#9), for offers the ACD made from its queue; `at`:
        when it happened (the phone rings when Asterisk tells us so), else now."""
        if offer.met_at is not None:
            QUEUE_TO_RING_SECONDS.labels(stage=stage).observe(
                max((at if at is not None else self.rt.clock.monotonic()) - offer.met_at, 0.0))

    async def _update_offer(self, offer: LiveOffer, **values: Any) -> None:
        """The offer's record, written behind with the call log (R21: no caller waits on it)."""
        self.rt.call_log.update_offer(offer.id, **values)
