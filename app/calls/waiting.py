"""Queue waiting (R9, R10, R11, R8): a call the menu (or a transfer) hands to a queue waits
alone with music in a holding bridge, hears its position and estimated wait, and is offered to
agents by the ACD (`routing.engine`). A queue nobody logged in could serve is not joined; past
the queue's maximum wait the call overflows (another queue, voicemail, or a promised call-back:
the pure `routing.overflow.route`). A missed offer puts the call back at the head of its queue
for the next agent, at once.

One place builds the ACD's entry for the call (`_wait`), whichever way it (re)enters a queue.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.events import StasisStart
from app.calls.items import Announce, LiveCall, MaxWait, RingLimit
from app.calls.offers import Offers
from app.calls.promises import Promises
from app.calls.runtime import CallRuntime
from app.calls.state import CallState, Trigger
from app.calls.voicemail import Voicemail
from app.complaints import service as complaints
from ivr import interpreter as ivr
from routing import overflow
from routing.engine import Acd, OfferMade, QueueConfig
from routing.overflow import Join
from routing.ring_rule import OfferOutcome
from routing.seniority import LevelNeed, level_needed, stricter
from routing.strategies import Level

log = structlog.get_logger(__name__)


class QueueWaiting:
    def __init__(self, runtime: CallRuntime, *, acd: Acd, offers: Offers, voicemail: Voicemail,
                 promises: Promises, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.rt = runtime
        self.acd = acd
        self.offers = offers
        self.voicemail = voicemail
        self.promises = promises
        self.sessions = sessionmaker

    # -- entering ---------------------------------------------------------------------------
    async def enter(self, call: LiveCall, action: ivr.EnterQueue) -> None:
        """R9: the menu hands the call to a queue. A queue that is not set up, or that nobody
        logged in could serve (at the level the call needs, R10), is not joined: its overflow
        applies at once (another queue, voicemail, or a call-back; `routing.overflow`)."""
        need = await self.level_need(call)
        call.min_level = stricter(call.min_level, need.level if need else None)
        routed = self._route(call, action.queue, language=action.language)
        if not isinstance(routed.decision, Join):
            await self._overflow_to(call, action.queue, routed)
            return
        queue = routed.decision.queue
        now = self.rt.clock.now()
        call.queue, call.enqueued_at = queue, now
        detail: dict[str, Any] = {"queue": queue, "call_type": action.call_type,
                                  "skills": list(action.skills), "language": action.language}
        if routed.overflowed:  # nobody there: the menu's queue passed the call on
            detail |= {"overflow_from": action.queue, "why": str(routed.why), "via": list(routed.via)}
        if need is not None:  # R10: why only seniors are offered it
            detail |= {"min_level": str(need.level), "min_level_why": need.why}
        if self.offers.records(queue):  # R16: recorded with an agent; the caller is told first
            detail["recording_notice"] = True
        self.rt.fire(call, Trigger.enqueued, ivr_outcome=f"queue:{action.queue}",
                     queue=queue, enqueued_at=now, priority=call.priority, detail=detail)
        await self.hold(call, language=action.language)

    async def hold(self, call: LiveCall, *, language: str | None = None, announce: bool = True,
                   enqueue: bool = True) -> None:
        """The call (new in `call.queue`, or transferred there) waits with music: the recording
        notice first (R16), then the ACD's queue and, on entry, the announcement. Without
        `enqueue` (a transfer to a named agent) only its maximum wait runs."""
        config = self._config(call)
        await self.rt.hold(call, call.channel_id, config.moh_class)
        await self.offers.recording_notice(call)
        if enqueue:
            await self._wait(call, config, language=language, announce_now=announce)
        else:
            self.rt.schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))

    async def _wait(self, call: LiveCall, config: QueueConfig, *, language: str | None = None,
                    reoffer: bool = False, announce_now: bool = True) -> None:
        """The one place the call joins the ACD's queue: with its maximum wait, its place by
        entry time and priority (R11), the level it needs (R10) and the agents who missed it."""
        if not reoffer:
            self.rt.schedule(call, "max_wait", config.max_wait_seconds, MaxWait(call.channel_id))
        await self.acd.enqueue(call_id=call.id, channel_id=call.channel_id, queue=config.name,
                               language=language or call.language, priority=call.priority,
                               enqueued_at=call.enqueued_at or self.rt.clock.now(),
                               excluded=frozenset(call.excluded), reoffer=reoffer,
                               min_level=call.min_level)
        if config.announce_every_seconds and call.id in self.acd.waiting:
            if announce_now:
                await self.announce(call)  # on entry, unless an agent was free at once
            else:
                self._next_announcement(call, config)

    def _config(self, call: LiveCall) -> QueueConfig:
        config = self.acd.queue(call.queue or "")
        assert config is not None, f"no queue {call.queue!r}"
        return config

    async def level_need(self, call: LiveCall) -> LevelNeed | None:
        """R10: a caller with an open major (or crisis) complaint needs a senior agent."""
        try:  # R21: "unknown" after a short while, never a caller held up by Postgres
            async with asyncio.timeout(self.rt.settings.call_read_timeout_seconds):
                async with self.sessions() as session:
                    severities = await complaints.open_severities(
                        session=session, customer_number=call.caller_number)
        except Exception as exc:  # noqa: BLE001 - without it the call still reaches an agent
            log.warning("call.complaint_severities_unavailable", error=repr(exc))
            severities = []
        return level_needed(severities, escalated=call.min_level is Level.senior)

    # -- offers -----------------------------------------------------------------------------
    async def offer(self, call: LiveCall, made: OfferMade) -> None:
        """Ring the agent the ACD chose (R1: at most the ring limit). A phone that cannot be
        dialled is a miss: the next agent."""
        if call.state is not CallState.in_queue or call.hangup_requested:
            await self.acd.offer_ended(made.agent_id, OfferOutcome.cancelled)
            return
        self.rt.cancel(call, "announce")  # no announcement while an agent's phone rings
        call.offer, dialled = await self.offers.dial(
            call, made, kind="queue", timer="ring", item=RingLimit(call.channel_id, made.offer_id))
        if not dialled:
            await self.missed(call, OfferOutcome.busy)

    async def ring_limit(self, call: LiveCall, offer_id: object) -> None:
        """R1: the offered agent has had the ring limit to answer."""
        if call.offer is not None and call.offer.id == offer_id:
            await self.missed(call, OfferOutcome.no_answer)

    # -- while waiting ----------------------------------------------------------------------
    async def announce(self, call: LiveCall) -> None:
        """Position and estimated wait (R9), over the music; and again after a while."""
        if call.state is not CallState.in_queue or call.offer is not None:
            return
        prompts = self.acd.announcement(call.id)
        config = self.acd.queue(call.queue or "")
        if prompts is None or config is None:
            return
        await self.rt.play_on_bridge(call, self.rt.holding_bridge(call), tuple(prompts),
                                     playback_id=f"{call.id}.announce")
        self._next_announcement(call, config)

    def _next_announcement(self, call: LiveCall, config: QueueConfig) -> None:
        if config.announce_every_seconds:
            self.rt.schedule(call, "announce", config.announce_every_seconds,
                             Announce(call.channel_id))

    async def missed(self, call: LiveCall, outcome: OfferOutcome, *,
                     leg_gone: bool = False) -> None:
        """The agent did not take it (R1: no answer in time, busy, rejected): the next agent, at
        once, with the call at the head of its queue (the agent who missed it left out)."""
        offer = await self.offers.cancel_queue_offer(call, outcome, leg_gone=leg_gone)
        if offer is None or outcome is OfferOutcome.cancelled:
            return
        if call.state is CallState.in_queue and not call.hangup_requested:
            call.excluded.add(offer.agent_id)
            await self._wait(call, self._config(call), reoffer=True, announce_now=False)

    async def max_wait(self, call: LiveCall) -> None:
        """The call waited its queue's maximum: the queue's overflow (another queue with someone
        there, voicemail, or a promised call-back; `routing.overflow`)."""
        if call.state is not CallState.in_queue:
            return
        await self.acd.remove(call.id)
        await self.offers.cancel_queue_offer(call, OfferOutcome.cancelled)
        queue = call.queue or ""
        self.rt.cancel(call, "announce")
        routed = self._route(call, queue, language=call.language, waited=True)
        if not isinstance(routed.decision, Join):
            await self._overflow_to(call, queue, routed)
            return
        call.queue = routed.decision.queue
        self.rt.fire(call, Trigger.overflowed, queue=call.queue,
                     detail={"from_queue": queue, "queue": call.queue, "why": str(routed.why),
                             "via": list(routed.via)})
        await self.offers.recording_notice(call)
        await self._wait(call, self._config(call), announce_now=False)

    # -- overflow ---------------------------------------------------------------------------
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
            await self.rt.unhold(call, call.channel_id)
        if isinstance(routed.decision, overflow.ToVoicemail):
            await self.voicemail.to_overflow(call, queue, routed, why)
        else:
            await self.no_agent(call, queue, why, via=routed.via)

    async def no_agent(self, call: LiveCall, queue: str | None, why: str,
                       via: tuple[str, ...] = ()) -> None:
        """Nobody can take the call: say so, open a call-back task (R8), thank the caller. The
        call ends as `overflow`: the caller wanted a person and got a promise."""
        call.overflowed = True
        await self.promises.no_agent(call, why)
        self.rt.fire(call, Trigger.no_agent,
                     detail={"queue": queue, "why": why, "overflow": "callback"}
                     | ({"via": list(via)} if via else {}),
                     **({"ivr_outcome": f"queue:{queue}"} if call.state is CallState.in_ivr
                        and queue else {}))
        await self.rt.say(call, ("queue_unavailable", "thanks"))

    # -- leaving ----------------------------------------------------------------------------
    async def release(self, call: LiveCall) -> None:
        """The caller hung up waiting (or while an agent's phone rang): out of the ACD's queue,
        the offer cancelled, the holding bridge gone."""
        if call.state is not CallState.in_queue:
            return
        await self.acd.remove(call.id)
        await self.offers.cancel_queue_offer(call, OfferOutcome.cancelled)
        await self.rt.safely(self.rt.telephony.destroy_bridge(self.rt.holding_bridge(call)))

    async def resync(self, call: LiveCall) -> None:
        """A waiting call after a drop or a restart: its offer's fate, or back in the queue."""
        offer = call.offer
        if offer is not None:  # was an agent's phone answered, or hung up, unseen?
            leg = await self.offers.leg(offer)
            if leg is None:
                # Gone while we were not watching: Asterisk may have hung it up itself (an agent
                # who answered while no service held the app). Not the agent's miss (R1 pauses
                # for those): the agent is ready again and the call goes to the next, at once.
                await self.offers.cancel_queue_offer(call, OfferOutcome.cancelled, leg_gone=True)
                if call.state is CallState.in_queue and not call.hangup_requested:
                    await self._wait(call, self._config(call), reoffer=True, announce_now=False)
            elif leg.state == "Up":
                await self.offers.connect(call, StasisStart(
                    type="StasisStart", args=["agent", str(call.id)], channel=leg))
            return
        if call.id not in self.acd.waiting and call.queue and self.acd.queue(call.queue):
            if call.min_level is None:  # after a restart: R10 again from the complaints
                need = await self.level_need(call)
                call.min_level = need.level if need else None
            await self._wait(call, self._config(call), announce_now=False)
