"""Transfers (R12, R10): blind, warm, and escalation to a senior.

- **Blind** (`{"queue": …}` or `{"agent_id": …}`, `"escalate": true` for seniors only): the
  agent leaves (wrap-up, and stays the call's owner in the records: first-contact ownership), the
  caller waits with music again for the queue's next agent or the named one.
- **Warm**: the caller leaves the conversation's bridge and holds with music while the
  colleague's phone rings (R1's ring limit applies to them too) and the two agents talk; then
  `complete` (or the first agent hanging up) hands the caller over, `cancel` (or the colleague
  hanging up or not answering) brings the caller back. The consultation is its own machine
  (`app.calls.state.ConsultState`).

Requests come from the API as `Transfer` items in the call's queue; a refusal is
`TransferRefused` (409) and changes nothing.
"""

from __future__ import annotations

import structlog

from app.ari.events import (
    ChannelDestroyed, ChannelHangupRequest, ChannelStateChange, StasisEnd, StasisStart,
)
from app.calls.items import (
    ConsultRingLimit, Consultation, Item, LiveCall, Transfer, TransferRefused,
)
from app.calls.offers import Offers, outcome_of
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, ConsultEvent, ConsultState, Trigger
from app.calls.waiting import QueueWaiting
from routing.engine import Acd
from routing.ring_rule import OfferOutcome
from routing.seniority import stricter
from routing.strategies import Level

log = structlog.get_logger(__name__)


class Transfers:
    def __init__(self, runtime: CallRuntime, *, acd: Acd, offers: Offers,
                 waiting: QueueWaiting) -> None:
        self.rt = runtime
        self.acd = acd
        self.offers = offers
        self.waiting = waiting

    async def request(self, call: LiveCall, req: Transfer) -> None:
        """A transfer request from the API; its future gets the result (or the refusal)."""
        action = {"blind": self.blind, "warm": self.consult, "complete": self.complete,
                  "cancel": self.cancel}[req.action]
        await action(call, req)

    # -- blind ------------------------------------------------------------------------------
    async def blind(self, call: LiveCall, req: Transfer) -> None:
        """The agent leaves (and stays the call's owner in the records); the caller waits again
        with music, for a queue's next agent or for the named agent."""
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
        await self.rt.drop_leg(leg)
        from_agent = call.agent_id
        await self.offers.end_conversation(call)
        call.agent_id, call.queue, call.excluded = None, queue, set()
        now = call.enqueued_at = self.rt.clock.now()
        self.rt.fire(call, Trigger.transferred, queue=queue, enqueued_at=now,
                     detail={"from_agent": str(from_agent), "queue": queue,
                             "to_agent": str(req.agent_id) if req.agent_id else None})
        call.min_level = min_level or call.min_level
        await self.waiting.hold(call, announce=False, enqueue=made is None)
        if made is not None:
            await self.waiting.offer(call, made)

    # -- warm -------------------------------------------------------------------------------
    async def consult(self, call: LiveCall, req: Transfer) -> None:
        """The caller holds with music while the agent briefs a colleague."""
        if call.state is not CallState.connected or call.agent_channel is None:
            raise TransferRefused("the call is not with an agent")
        if call.consult is not None:
            raise TransferRefused("a consultation is going on already")
        if req.agent_id is None or req.agent_id == call.agent_id:
            raise TransferRefused("a warm transfer names another agent")
        made = await self.acd.reserve(req.agent_id, call_id=call.id, channel_id=call.channel_id,
                                      queue=call.queue or "", min_level=call.min_level)  # R10
        try:
            await self.rt.telephony.remove_from_bridge(self.rt.call_bridge(call), [call.channel_id])
            await self.rt.telephony.start_moh(call.channel_id)
        except Exception:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            raise
        offer, dialled = await self.offers.dial(
            call, made, kind="consult", timer="consult_ring",
            item=ConsultRingLimit(call.channel_id, made.offer_id))
        call.consult = Consultation(offer)
        self.rt.fire(call, Trigger.consult_started, detail={"to_agent": str(req.agent_id)})
        if not dialled:
            await self._unanswered(call, OfferOutcome.busy, leg_gone=True)

    async def on_leg(self, call: LiveCall, item: Item) -> None:
        """An event of the consulted agent's leg."""
        consult = call.consult
        assert consult is not None
        offer = consult.offer
        match item:
            case ChannelStateChange() if item.channel.state == "Ringing":
                await self.offers.rings(call, offer, "consult_ring",
                                        ConsultRingLimit(call.channel_id, offer.id))
            case StasisStart() if consult.state is ConsultState.ringing:
                self.rt.cancel(call, "consult_ring")
                self.offers.desk.connected(offer.agent_id, offer_id=offer.id, call_id=call.id,
                                           apology_due=False)
                await self.offers.answered(offer, self.rt.clock.now())
                await self.rt.telephony.add_to_bridge(self.rt.call_bridge(call), [offer.channel_id])
                consult.step(ConsultEvent.answer)
                self.rt.fire(call, Trigger.consult_answered)
            case StasisEnd() | ChannelDestroyed() | ChannelHangupRequest():
                if consult.talking:  # the colleague hung up: back to the first agent
                    await self.cancel(call, None, leg_gone=True)
                else:
                    await self._unanswered(call, outcome_of(getattr(item, "cause", None)),
                                           leg_gone=True)

    async def ring_limit(self, call: LiveCall, offer_id: object) -> None:
        """R1: the colleague did not answer in time."""
        if call.consult is not None and call.consult.offer.id == offer_id and (
                call.consult.state is ConsultState.ringing):
            await self._unanswered(call, OfferOutcome.no_answer)

    async def _unanswered(self, call: LiveCall, outcome: OfferOutcome, *, leg_gone: bool = False,
                          resume: bool = True) -> None:
        """The consulted agent did not answer (busy, rejected, no answer): back to the caller."""
        consult, call.consult = call.consult, None
        if consult is None:
            return
        consult.step(ConsultEvent.cancel)
        await self.offers.ended(call, consult.offer, outcome, timer="consult_ring",
                                leg_gone=leg_gone)
        if resume:
            await self._back_to_first_agent(call, outcome)

    async def cancel(self, call: LiveCall, req: Transfer | None, *, leg_gone: bool = False) -> None:
        """The agent takes the caller back (or the colleague hung up)."""
        consult = call.consult
        if consult is None:
            raise TransferRefused("no consultation is going on")
        if not consult.talking:
            await self._unanswered(call, OfferOutcome.cancelled, leg_gone=leg_gone)
            return
        consult.step(ConsultEvent.cancel)
        call.consult = None
        if leg_gone:
            self.rt.detach_leg(consult.offer.channel_id)
        else:
            await self.rt.drop_leg(consult.offer.channel_id)
        await self.acd.call_ended(consult.offer.agent_id, call.queue)
        await self._back_to_first_agent(call, "cancelled")

    async def _back_to_first_agent(self, call: LiveCall, why: object) -> None:
        await self.rt.safely(self.rt.telephony.stop_moh(call.channel_id))
        await self.rt.telephony.add_to_bridge(self.rt.call_bridge(call), [call.channel_id])
        self.rt.fire(call, Trigger.consult_cancelled, detail={"why": str(why)})

    async def complete(self, call: LiveCall, req: Transfer | None) -> None:
        """The caller goes to the consulted agent; the first leaves (and stays the owner)."""
        consult = call.consult
        if consult is None or not consult.talking:
            raise TransferRefused("the consulted agent has not answered")
        consult.step(ConsultEvent.complete)
        first, leg = call.agent_id, call.agent_channel
        await self.rt.drop_leg(leg)
        if first is not None:
            await self.acd.call_ended(first, call.queue)
        await self.offers.recorder.stop(call.id)  # R16: the first agent's conversation ends here
        call.agent_id, call.agent_channel = consult.offer.agent_id, consult.offer.channel_id
        call.consult = None
        await self.rt.safely(self.rt.telephony.stop_moh(call.channel_id))
        await self.rt.telephony.add_to_bridge(self.rt.call_bridge(call), [call.channel_id])
        self.rt.fire(call, Trigger.consult_completed,
                     detail={"from_agent": str(first), "to_agent": str(consult.offer.agent_id)})
        await self.offers.record_conversation(call)  # and the new agent's starts

    async def first_agent_left(self, call: LiveCall) -> None:
        """The consulting agent hung up while the colleague listens: that completes the warm
        transfer (R12)."""
        self.rt.detach_leg(call.agent_channel)
        call.agent_channel = None
        await self.complete(call, None)

    async def release(self, call: LiveCall) -> None:
        """The caller hung up while holding for a warm transfer: the colleague is let go."""
        consult = call.consult
        if consult is None:
            return
        if consult.talking:
            call.consult = None
            await self.rt.drop_leg(consult.offer.channel_id)
            await self.acd.call_ended(consult.offer.agent_id, call.queue)
        else:
            await self._unanswered(call, OfferOutcome.cancelled, resume=False)
