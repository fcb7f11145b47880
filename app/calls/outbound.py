"""Outbound call-backs (R8, R15, R17), one call at a time in the call's own worker: the agent's
phone rings first (reserved in the ACD; R1's ring limit applies), and once the agent answers
(hearing music meanwhile) the customer is dialled through the trunk (`HOTLINE_OUTBOUND_DIAL`);
when the customer answers the two are bridged. The attempt's result (answered, no answer after
`HOTLINE_CALLBACK_RING_SECONDS`, busy, failed) is stored at once and moves the task on
(`app.callbacks.service.settle`: done, again later, unreachable; a complaint's workflow hears
of it). At the end of a complaint call-back whose agent hangs up first the customer is asked
to rate the service (R17), the score going on the call and the complaint.

**Recording (R16).** A call-back is an agent conversation: when `HOTLINE_RECORD_CALLBACKS` is
on (the default) it is recorded from the moment the customer answers and is bridged with the
agent, with the `recording_notice` played on the bridge then (the agent has spoken first, so
both hear it, and it is in the recording), until the conversation ends: either side hangs up,
or the agent leaves a complaint call-back and the survey starts (the survey is not recorded).
The rule is the setting alone, whatever the queue of the call the task came from says about
its own calls; that queue (if the task came from a call) only gives the retention period,
else the service's `HOTLINE_RECORDING_RETENTION_DAYS`. The recording row carries the outbound
call's id and the agent, so the recordings API, roles, retention and QA sampling are the same.

The call is logged in `calls` (direction `outbound`, `channel_id` the customer's leg) with its
timeline. It runs on the same runtime as inbound calls (`app.calls.runtime`): every state
change goes through its `fire` (`app.calls.state.next_out_state` refuses anything else) and is
written behind by the call log; timers, media, hang-ups and the legs map are the runtime's, the
survey is the inbound calls' part (`app.calls.survey`). Both legs' events reach the call's
worker through the runtime's `legs` (leg -> the call's key), as agents' legs of inbound calls
do.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import (
    ChannelDestroyed, ChannelDtmfReceived, ChannelHangupRequest, ChannelStateChange, Dial,
    PlaybackFinished, StasisEnd, StasisStart,
)
from app.ari.models import Channel
from app.callbacks import service as callbacks
from app.callbacks.rules import AttemptOutcome, customer_outcome
from app.calls import service as calls
from app.calls.items import SurveyTimer
from app.calls.models import Call
from app.calls.offers import outcome_of
from app.calls.runtime import CallRuntime
from app.calls.state import OutState, OutTrigger, next_out_state
from app.calls.survey import Survey
from app.complaints import service as complaints
from app.customers import service as customers
from app.customers.numbers import national, normalise
from app.desk.notifier import DeskNotifier
from app.surveys import rules as survey
from routing.engine import Acd
from routing.ring_rule import OfferOutcome

log = structlog.get_logger(__name__)
QUEUE = "callback"  # what the ACD and wrap-up see as the "queue" of a call-back


# -- our own items in the call's queue -------------------------------------------------------
@dataclass(frozen=True)
class RingAgent:
    channel_id: str  # the call's key


@dataclass(frozen=True)
class AgentRingLimit:
    channel_id: str


@dataclass(frozen=True)
class CustomerRingLimit:
    channel_id: str


@dataclass(frozen=True)
class LegLost:
    """Reconciliation found a leg gone while we were not listening."""

    channel_id: str
    leg: str


@dataclass
class LiveCallback:
    key: str
    attempt_id: uuid.UUID
    task_id: uuid.UUID
    call_id: uuid.UUID
    agent_id: uuid.UUID
    user_id: uuid.UUID | None
    complaint_id: uuid.UUID | None
    number: str            # as the task has it
    dial: str              # the digits dialled
    language: str
    endpoint: str          # the agent's phone, as ARI originates it
    last_seen_at: datetime
    customer_name: str | None = None
    origin_queue: str | None = None  # the queue of the call the task came from (R16 retention)
    state: OutState = OutState.ringing_agent
    seq: int = 0
    persisted: bool = True
    agent_ringing_at: datetime | None = None
    agent_answered: bool = False
    agent_released: bool = False   # the ACD was told the agent's offer or call is over
    customer_answered: bool = False
    settled: bool = False          # the attempt's outcome is stored
    outcome: AttemptOutcome | None = None
    reason: str | None = None
    dialstatus: str | None = None
    causes: dict[str, int | None] = field(default_factory=dict)
    up: set[str] = field(default_factory=set)     # legs that exist (originated, not gone)
    survey: survey.SurveyState | None = None
    hangup_by: str | None = None
    timers: dict[str, asyncio.Task[None]] = field(default_factory=dict, repr=False)

    next_state: ClassVar = staticmethod(next_out_state)  # the call-back's table

    @property
    def id(self) -> uuid.UUID:
        return self.call_id

    @property
    def agent_leg(self) -> str:
        return f"cba-{self.attempt_id}"

    @property
    def customer_leg(self) -> str:
        return f"cbc-{self.attempt_id}"

    @property
    def customer_channel(self) -> str:
        return self.customer_leg


class OutboundCalls:
    def __init__(self, *, runtime: CallRuntime, sessionmaker: async_sessionmaker[AsyncSession],
                 acd: Acd, desk: DeskNotifier, recorder: Any = None) -> None:
        self.rt = runtime
        self.settings = runtime.settings
        self.telephony = runtime.telephony
        self.clock = runtime.clock
        self.sessions = sessionmaker
        self.acd = acd
        self.desk = desk
        self.recorder = recorder    # R16 (app.recordings.recorder); None: never recorded
        self.survey = Survey(runtime, finished=self._survey_finished)
        self.calls: dict[str, LiveCallback] = {}

    def owns(self, key: str) -> bool:
        return key in self.calls

    def busy_agents(self) -> dict[uuid.UUID, uuid.UUID]:
        """Agents rung for, or talking on, a live call-back -> its call."""
        return {live.agent_id: live.call_id for live in self.calls.values()
                if not live.agent_released}

    def live_attempt(self, task_id: uuid.UUID) -> LiveCallback | None:
        return next((c for c in self.calls.values() if c.task_id == task_id), None)

    # -- starting (from the API) ------------------------------------------------------------
    async def begin(self, *, task_id: uuid.UUID, agent_id: uuid.UUID,
                    user_id: uuid.UUID | None) -> LiveCallback:
        """Claim the task (409 when too early, done or in progress), reserve the agent in the
        ACD (409 `agent-busy` unless ready), log the call and the attempt, then ring the agent."""
        now = self.clock.now()
        attempt_id, call_id = uuid.uuid4(), uuid.uuid4()
        key = f"callback-{attempt_id}"
        async with self.sessions() as session, session.begin():
            task = await callbacks.claim(session=session, task_id=task_id, now=now)
            view = await callbacks.get_task(session=session, task_id=task_id)
            customer = await customers.by_phone(session=session, number=task.customer_number)
            e164 = normalise(task.customer_number)
            origin = await calls.get(session=session, call_id=task.call_id) if task.call_id else None
            live = LiveCallback(
                key=key, attempt_id=attempt_id, task_id=task.id, call_id=call_id,
                agent_id=agent_id, user_id=user_id, complaint_id=task.complaint_id,
                number=task.customer_number or "",
                dial=national(e164) if e164 else (task.customer_number or ""),
                language=task.language, endpoint="", last_seen_at=now,
                customer_name=view.customer_name,
                origin_queue=origin.queue if origin is not None else None)
            await calls.open_outbound(
                session=session, call_id=call_id, channel_id=live.customer_leg, number=live.number,
                name=live.customer_name, dialed=live.dial, language=live.language,
                agent_id=agent_id, customer_id=customer.id if customer else None, started_at=now,
                state=OutState.ringing_agent, trigger=OutTrigger.dialing,
                detail={"task_id": str(task.id), "source": task.source,
                        "attempt": task.attempts + 1, "agent_id": str(agent_id)})
            await callbacks.start_attempt(session=session, task=task, agent_id=agent_id,
                                          user_id=user_id, call_id=call_id, at=now,
                                          attempt_id=attempt_id)
        try:  # the agent must be ready (else 409 agent-busy); the ACD offers them nothing else
            made = await self.acd.reserve(agent_id, call_id=call_id, channel_id=key, queue=QUEUE)
        except BaseException:
            async with self.sessions() as session, session.begin():
                await callbacks.withdraw(session=session, attempt_id=attempt_id, call_id=call_id)
            raise
        live.endpoint = made.endpoint
        self.calls[key] = live
        self.rt.attach_leg(live.agent_leg, live)
        self.rt.attach_leg(live.customer_leg, live)
        log.info("callback.begin", task=str(task_id), attempt=str(attempt_id), agent=str(agent_id))
        self.rt.submit(key, RingAgent(key))
        return live

    # -- the call's worker ------------------------------------------------------------------
    async def handle(self, key: str, item: Any) -> None:
        live = self.calls.get(key)
        if live is None:
            return
        with structlog.contextvars.bound_contextvars(call_id=str(live.call_id),
                                                     attempt=str(live.attempt_id)):
            try:
                await self._on_item(live, item)
            except AriNotFound as exc:
                log.info("callback.channel_vanished", state=live.state, error=str(exc))
            except Exception as exc:  # noqa: BLE001 - never leave a leg hanging
                await self._fail(live, exc)

    async def _on_item(self, live: LiveCallback, item: Any) -> None:
        leg = getattr(getattr(item, "channel", None), "id", None)
        if leg is not None:
            live.last_seen_at = max(live.last_seen_at, self.clock.now())
        match item:
            case RingAgent():
                await self._ring_agent(live)
            case AgentRingLimit() if live.state is OutState.ringing_agent:
                await self._agent_missed(live, OfferOutcome.no_answer)
            case CustomerRingLimit() if live.state is OutState.dialing_customer:
                await self._not_reached(live, AttemptOutcome.no_answer, "ring_limit")
            case SurveyTimer() if live.state is OutState.survey:
                await self.survey.silence(live, item.token)
            case LegLost():
                await self._leg_gone(live, item.leg)
            case Dial() if item.peer.id == live.customer_leg and item.dialstatus:
                live.dialstatus = item.dialstatus
            case ChannelStateChange() if (leg == live.agent_leg and item.channel.state == "Ringing"
                                          and live.agent_ringing_at is None):
                live.agent_ringing_at = self.clock.now()  # R1 counts from the first ring
                self.rt.schedule(live, "agent_ring", self.settings.ring_limit_seconds,
                                 AgentRingLimit(live.key))
                self._tell(live, "ringing")
            case StasisStart() if leg == live.agent_leg:
                await self._agent_answered(live)
            case StasisStart() if leg == live.customer_leg:
                await self._customer_answered(live)
            case ChannelDtmfReceived() if leg == live.customer_leg and live.state is OutState.survey:
                await self.survey.key(live, item.digit)
            case PlaybackFinished():
                await self._playback_finished(live, item.playback.id)
            case ChannelHangupRequest() if leg in (live.agent_leg, live.customer_leg):
                live.causes[leg] = item.cause
            case ChannelDestroyed() if leg in (live.agent_leg, live.customer_leg):
                live.causes[leg] = live.causes.get(leg) or item.cause
                await self._leg_gone(live, leg)
            case StasisEnd() if leg in (live.agent_leg, live.customer_leg):
                await self._leg_gone(live, leg)

    # -- the agent first --------------------------------------------------------------------
    async def _ring_agent(self, live: LiveCallback) -> None:
        self.rt.schedule(live, "agent_ring", self.settings.ring_limit_seconds + 2,
                         AgentRingLimit(live.key))  # if the phone never says it rings
        try:
            await self.telephony.originate(
                live.endpoint, channel_id=live.agent_leg,
                app_args=f"callback-agent,{live.attempt_id}", caller_id=live.dial,
                timeout=int(self.settings.ring_limit_seconds) + 10)
        except AriError as exc:
            log.warning("callback.agent_dial_failed", error=str(exc))
            await self._agent_missed(live, OfferOutcome.busy)
            return
        live.up.add(live.agent_leg)

    async def _agent_missed(self, live: LiveCallback, outcome: OfferOutcome) -> None:
        """The agent did not take the call-back (R1: paused after the misses allowed); it does
        not count against the customer: the task is open again."""
        self.rt.cancel(live, "agent_ring")
        if not live.agent_released:
            live.agent_released = True
            await self.acd.offer_ended(live.agent_id, outcome)
        await self._settle(live, AttemptOutcome.failed, f"agent_{outcome}", counted=False)
        self.rt.fire(live, OutTrigger.agent_missed, detail={"outcome": str(outcome)},
                     end_reason="agent_unavailable")
        self._tell(live, "ended", outcome="failed")
        await self._hang_up(live, live.agent_leg)
        await self._maybe_end(live)

    async def _agent_answered(self, live: LiveCallback) -> None:
        if live.state is not OutState.ringing_agent:
            await self._hang_up(live, live.agent_leg)
            return
        self.rt.cancel(live, "agent_ring")
        now = self.clock.now()
        live.agent_answered, live.agent_released = True, False
        await self.acd.offer_ended(live.agent_id, OfferOutcome.answered)
        await self.rt.safely(self.telephony.start_moh(live.agent_leg))  # music while we dial
        self._record("callback.agent_answered", lambda session: callbacks.agent_answered(
            session=session, attempt_id=live.attempt_id, at=now))
        self.rt.fire(live, OutTrigger.agent_answered, at=now,
                     detail={"agent_id": str(live.agent_id), "dial": live.dial})
        self._tell(live, "dialing")
        self.rt.schedule(live, "customer_ring", self.settings.callback_ring_seconds,
                         CustomerRingLimit(live.key))
        try:
            await self.telephony.originate(
                self.settings.outbound_dial.format(number=live.dial), channel_id=live.customer_leg,
                app_args=f"callback-customer,{live.attempt_id}",
                caller_id=self.settings.outbound_caller_id,
                timeout=int(self.settings.callback_ring_seconds) + 5)
        except AriError as exc:
            log.warning("callback.customer_dial_failed", error=str(exc))
            await self._not_reached(live, AttemptOutcome.failed, "dial_error")
            return
        live.up.add(live.customer_leg)

    # -- then the customer ------------------------------------------------------------------
    async def _customer_answered(self, live: LiveCallback) -> None:
        if live.state is not OutState.dialing_customer:
            await self._hang_up(live, live.customer_leg)
            return
        self.rt.cancel(live, "customer_ring")
        now = self.clock.now()
        live.customer_answered = True
        await self.rt.safely(self.telephony.stop_moh(live.agent_leg))
        bridge = self.rt.call_bridge(live)
        await self.telephony.create_bridge(bridge)
        await self.telephony.add_to_bridge(bridge, [live.agent_leg, live.customer_leg])
        recorded = await self._start_recording(live, bridge)
        self.rt.fire(live, OutTrigger.customer_answered, at=now, answered_at=now,
                     connected_at=now, detail={"agent_id": str(live.agent_id),
                                               "recorded": recorded})
        await self._settle(live, AttemptOutcome.answered, None, counted=True)
        self._tell(live, "connected", outcome="answered")

    async def _not_reached(self, live: LiveCallback, outcome: AttemptOutcome,
                           reason: str | None) -> None:
        """No answer, busy or failed: store it (the task is tried again later, or given up),
        tell the agent and let them go."""
        self.rt.cancel(live, "customer_ring")
        await self._settle(live, outcome, reason, counted=True)
        self.rt.fire(live, OutTrigger.not_reached, end_reason=str(outcome),
                     detail={"outcome": str(outcome), "reason": reason,
                             "cause": live.causes.get(live.customer_leg),
                             "dialstatus": live.dialstatus})
        self._tell(live, "ended", outcome=str(outcome))
        await self._hang_up(live, live.customer_leg)
        await self._release_agent(live)
        await self._hang_up(live, live.agent_leg)
        await self._maybe_end(live)

    # -- a leg goes -------------------------------------------------------------------------
    async def _leg_gone(self, live: LiveCallback, leg: str) -> None:
        if leg not in live.up:
            live.up.discard(leg)
            await self._maybe_end(live)
            return
        live.up.discard(leg)
        cause = live.causes.get(leg)
        if leg == live.agent_leg:
            match live.state:
                case OutState.ringing_agent:
                    await self._agent_missed(live, outcome_of(cause))
                case OutState.dialing_customer:
                    self.rt.cancel(live, "customer_ring")
                    await self._settle(live, AttemptOutcome.failed, "agent_hung_up", counted=False)
                    live.hangup_by = "agent"
                    self.rt.fire(live, OutTrigger.agent_left, end_reason="agent_hung_up")
                    self._tell(live, "ended", outcome="failed")
                    await self._release_agent(live)
                    await self._hang_up(live, live.customer_leg)
                case OutState.connected:
                    live.hangup_by = "agent"
                    await self._stop_recording(live)  # the survey is not part of it
                    await self._release_agent(live)
                    await self.rt.safely(self.telephony.destroy_bridge(self.rt.call_bridge(live)))
                    if live.complaint_id is not None and live.customer_leg in live.up:
                        self.rt.fire(live, OutTrigger.survey_started,
                                         detail={"complaint_id": str(live.complaint_id)})
                        await self.survey.start(live)
                    else:
                        self.rt.fire(live, OutTrigger.agent_left)
                        await self._hang_up(live, live.customer_leg)
        elif leg == live.customer_leg:
            match live.state:
                case OutState.dialing_customer:
                    await self._not_reached(live, customer_outcome(cause, live.dialstatus),
                                            live.dialstatus)
                case OutState.connected | OutState.survey:
                    live.hangup_by = live.hangup_by or "customer"
                    await self._stop_recording(live)
                    self.rt.fire(live, OutTrigger.customer_left)
                    await self._release_agent(live)
                    await self._hang_up(live, live.agent_leg)
        await self._maybe_end(live)

    async def _maybe_end(self, live: LiveCallback) -> None:
        """Both legs gone: the call has ended."""
        if live.up or live.state is OutState.ended:
            return
        await self._stop_recording(live)  # a safety net: stopped when the conversation ended
        now = self.clock.now()
        if not live.settled:  # nothing decided (a failure): the attempt does not count
            await self._settle(live, AttemptOutcome.failed, "ended", counted=False)
        await self._release_agent(live)
        end_reason = "completed" if live.customer_answered else None
        updates: dict[str, Any] = {"ended_at": now, "hangup_by": live.hangup_by or "system"}
        if end_reason:
            updates["end_reason"] = end_reason
        self.rt.fire(live, OutTrigger.channel_gone, at=now, **updates)
        self._record("callback.attempt_ended", lambda session: callbacks.attempt_ended(
            session=session, attempt_id=live.attempt_id, at=now))
        self._tell(live, "ended", outcome=str(live.outcome) if live.outcome else None)
        self._forget(live)
        log.info("callback.ended", outcome=live.outcome, reason=live.reason)

    # -- recording (R16) --------------------------------------------------------------------
    async def _start_recording(self, live: LiveCallback, bridge: str) -> bool:
        """The customer answered and is bridged with the agent: record the conversation if
        `HOTLINE_RECORD_CALLBACKS` is on, and tell both on the bridge that it may be recorded
        (the notice is in the recording). A failure never touches the call."""
        if self.recorder is None or not self.settings.record_callbacks:
            return False
        active = await self.recorder.start(call_id=live.call_id, agent_id=live.agent_id,
                                           queue=live.origin_queue, bridge_id=bridge)
        await self.rt.safely(self.rt.play_on_bridge(
            live, bridge, ("recording_notice",), playback_id=f"{live.call_id}.recording_notice"))
        return active is not None

    async def _stop_recording(self, live: LiveCallback) -> None:
        """The agent conversation is over (no-op if it was not recorded or is stopped)."""
        if self.recorder is not None:
            await self.rt.safely(self.recorder.stop(live.call_id))

    # -- the survey at the end of a complaint call-back (R17) -------------------------------
    async def _survey_finished(self, live: LiveCallback, score: int | None,
                               prompts: tuple[str, ...]) -> None:
        """The score goes on the call and on the complaint; the customer is thanked."""
        now = self.clock.now()
        if score is not None and live.complaint_id is not None:
            complaint_id = live.complaint_id
            self._record("complaint.satisfaction", lambda session: complaints.record_satisfaction(
                session=session, complaint_id=complaint_id, score=score, at=now))
        scored = {"satisfaction": score, "satisfaction_at": now} if score is not None else {}
        self.rt.fire(live, OutTrigger.survey_done, at=now, detail={"score": score}, **scored)
        await self.rt.play(live, live.customer_leg, prompts, playback_id=f"{live.call_id}.thanks")

    async def _playback_finished(self, live: LiveCallback, playback_id: str) -> None:
        if live.state is OutState.survey and self.survey.asked(live, playback_id):
            return
        if playback_id == f"{live.call_id}.thanks":
            await self._hang_up(live, live.customer_leg)

    # -- helpers ----------------------------------------------------------------------------
    async def _settle(self, live: LiveCallback, outcome: AttemptOutcome, reason: str | None, *,
                      counted: bool) -> None:
        if live.settled:
            return
        live.settled, live.outcome, live.reason = True, outcome, reason
        at, retry = self.clock.now(), timedelta(minutes=self.settings.callback_retry_minutes)

        async def settle(session: AsyncSession) -> None:
            task = await callbacks.settle(
                session=session, attempt_id=live.attempt_id, outcome=outcome, reason=reason,
                at=at, counted=counted, retry=retry, user_id=live.user_id)
            log.info("callback.attempt_settled", outcome=outcome, reason=reason,
                     counted=counted, task_status=task.status, attempts=task.attempts)

        self._record("callback.settle", settle)

    def _record(self, name: str, run: Any) -> None:
        """What the call-back leaves in other domains (the attempt, the task, the complaint's
        score), written behind with the call log, in order (R21: once the customer is on the
        line, a Postgres outage never cuts the call; the records follow when it returns)."""
        self.rt.call_log.job(name, run)

    async def _release_agent(self, live: LiveCallback) -> None:
        """The ACD hears once that the agent's call-back is over: wrap-up (R13), or ready again
        if the phone was never answered."""
        if live.agent_released:
            return
        live.agent_released = True
        if live.agent_answered:
            await self.acd.call_ended(live.agent_id, QUEUE)
        else:
            await self.acd.offer_ended(live.agent_id, OfferOutcome.cancelled)

    async def _fail(self, live: LiveCallback, exc: BaseException) -> None:
        log.error("callback.failed", state=live.state, error=repr(exc), exc_info=exc)
        if live.state in (OutState.closing, OutState.ended):
            for leg in list(live.up):
                await self._hang_up(live, leg)
            return
        await self._stop_recording(live)
        await self.rt.safely(self._settle(live, AttemptOutcome.failed, "error", counted=False))
        self.rt.fire(live, OutTrigger.failed, detail={"error": repr(exc)[:300]})
        await self.rt.safely(self._release_agent(live))
        for leg in list(live.up):
            await self._hang_up(live, leg)
        await self.rt.safely(self._maybe_end(live))

    def _tell(self, live: LiveCallback, stage: str, outcome: str | None = None) -> None:
        self.desk.callback(live.agent_id, attempt_id=live.attempt_id, task_id=live.task_id,
                           call_id=live.call_id, stage=stage, outcome=outcome,
                           customer_name=live.customer_name, customer_number=live.number)

    async def _hang_up(self, live: LiveCallback, leg: str) -> None:
        if leg in live.up and not await self.rt.hang_up(leg):
            live.up.discard(leg)  # gone already: no event will tell us

    def _forget(self, live: LiveCallback) -> None:
        self.rt.cancel_all(live)
        self.rt.detach_leg(live.agent_leg)
        self.rt.detach_leg(live.customer_leg)
        self.calls.pop(live.key, None)

    # -- after a (re)connect ----------------------------------------------------------------
    async def reconcile(self, rows: list[Call], channels: dict[str, Channel]) -> None:
        """Live call-backs: legs that went while we were away are gone. Open outbound calls we
        do not know (the service restarted): ended as lost, their legs hung up, their attempt
        not counted (the task is open again)."""
        for live in list(self.calls.values()):
            for leg in list(live.up):
                if leg not in channels:
                    self.rt.submit(live.key, LegLost(live.key, leg))
        known = {live.call_id for live in self.calls.values()}
        for row in rows:
            if row.id in known:
                continue
            now = self.clock.now()
            try:
                async with self.sessions() as session, session.begin():
                    seq = await calls.last_seq(session=session, call_id=row.id)
                    await calls.record_transition(
                        session=session, call_id=row.id, seq=seq + 1, at=now,
                        from_state=row.state, trigger=OutTrigger.lost_track,
                        to_state=OutState.ended, ended_at=row.last_seen_at, end_reason="lost_track")
                    attempt_id = await callbacks.lost_attempt(
                        session=session, call_id=row.id, at=now, ended_at=row.last_seen_at)
                if attempt_id is not None:
                    for leg in (f"cba-{attempt_id}", f"cbc-{attempt_id}"):
                        if leg in channels:
                            await self.rt.safely(self.telephony.hangup(leg))
            except Exception as exc:  # noqa: BLE001
                log.warning("callback.reconcile_failed", call_id=str(row.id), error=repr(exc))

    async def close(self) -> None:
        for live in self.calls.values():
            self.rt.cancel_all(live)
