"""The live ACD (R9): agents' states and waiting calls, and who is offered to whom.

One lock covers every decision, so no agent is ever offered two calls and no call two agents.
The decisions themselves are the pure functions of `routing.queue_order` and
`routing.strategies`; this module keeps the live data, persists every agent state change (R19)
and tells a call's flow, through `notify(channel_id, item)`, that an offer was made. What happens
on the phones (ringing, the three-ring limit, answering, bridging) is the call flow's.

Every agent state change, the agent's and the system's alike, is an `AgentEvent` fired through
one choke point (`_change`), which asks `routing.agent_state.next_agent_state` for the next
state; what the table refuses is logged (`acd.transition_refused`) and changes nothing.

Routing never waits on Postgres (R21, #15): nothing under the lock touches the database. A change
is made in memory and handed to the ordered writer (`routing.state_writer`, `put_nowait`), which
stores changes in the order they were made, behind; an agent's own request is answered from
memory. So a caller that shows an agent right after a change reads the live state
(`live_state`; the API overlays it on the stored row), not the row, which may lag behind by the
writer's latency (or for as long as Postgres is away). Postgres is read only outside the lock:
`reload_queues`/`reload_agents` load rows first, then take the lock to swap them in.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import Clock
from app.config import Settings
from app.errors import AppError, NotFound
from app.metrics import QUEUE_TO_RING_SECONDS
from routing import announce, phones, queue_order
from routing.agent_state import (
    AgentEvent, AgentState, InvalidAgentTransition, PauseReason, can, miss_event, next_agent_state,
)
from routing.models import AgentRow, QueueRow
from routing.ring_rule import OfferOutcome
from routing.screens import AgentScreens
from routing.state_writer import StateChange, StateWriter
from routing.strategies import Agent, CallNeed, Level, Strategy, at_least, eligible

log = structlog.get_logger(__name__)


class AgentBusy(AppError):
    status_code = 409
    error_id = "agent-busy"
    message = "the agent is ringing or on a call; try again after the call"


class AgentTooJunior(AppError):
    status_code = 409
    error_id = "agent-level-too-low"
    message = "this call needs a more senior agent (R10)"


class UnknownAgent(NotFound):
    error_id = "unknown-agent"
    message = "no such active agent"


@dataclass
class LiveAgent:
    id: uuid.UUID
    name: str
    endpoint: str  # what to originate: PJSIP/trunk/<contact> or PJSIP/<registration> (phones)
    level: Level
    skills: dict[str, int]
    languages: frozenset[str]
    team: str | None
    state: AgentState
    state_reason: str | None
    state_since: datetime
    ready_since: datetime | None
    misses_in_a_row: int = 0
    calls_today: int = 0
    call_id: uuid.UUID | None = None
    wrap_up: asyncio.Task[None] | None = field(default=None, repr=False)
    wrap_up_until: datetime | None = None  # R13: when after-call work ends by itself
    ready_mono: float = 0.0  # when it last became ready, on the clock's monotonic source

    def routing_view(self) -> Agent:
        return Agent(id=self.id, level=self.level, skills=self.skills, languages=self.languages,
                     team=self.team, state=self.state, ready_since=self.ready_since,
                     calls_today=self.calls_today)


@dataclass(frozen=True)
class QueueConfig:
    name: str
    call_type: str
    skills: frozenset[str]
    language: str | None
    strategy: Strategy
    max_wait_seconds: int
    overflow: dict | None
    announce_every_seconds: int | None
    moh_class: str
    wrap_up_seconds: int
    survey: bool = False  # R17: callers rate the call when the agent hangs up first
    record_calls: bool = False  # R16: agent conversations are recorded (the caller is told)


@dataclass(frozen=True)
class Waiting:
    call_id: uuid.UUID
    channel_id: str
    queue: str
    entry: queue_order.WaitingCall
    since: float = 0.0  # when it (re)entered the queue, on the clock's monotonic source


@dataclass(frozen=True)
class OfferMade:
    """To the call's flow: ring this agent now."""

    channel_id: str          # the caller's channel (the call's queue key)
    offer_id: uuid.UUID
    agent_id: uuid.UUID
    endpoint: str            # the agent's phone, as ARI originates it
    queue: str
    # When call and agent met (the later of queue entry and the agent's ready), monotonic:
    # the start of the queue-to-ring latency.
    met_at: float | None = None


class Acd:
    # #18: the queue's measured average handle time (app.reports.handle_times), else the setting
    handle_seconds: Callable[[str], float] | None = None

    def __init__(self, *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: Clock, notify: Callable[[str, object], None],
                 desk: AgentScreens | None = None) -> None:
        self.settings = settings
        self.sessions = sessionmaker
        self.clock = clock
        self.notify = notify
        self.desk = desk  # agents' screens: every state change, with the wrap-up timer
        self.agents: dict[uuid.UUID, LiveAgent] = {}
        self.queues: dict[str, QueueConfig] = {}
        self.waiting: dict[uuid.UUID, Waiting] = {}
        self._last_agent: dict[str, uuid.UUID] = {}
        self._lock = asyncio.Lock()
        self._writer = StateWriter(sessionmaker, limits=settings.writers)  # R19: stored in order

    # -- loading ----------------------------------------------------------------------------
    async def start(self) -> None:
        await self.reload_queues()
        await self.reload_agents()

    async def reload_queues(self) -> None:
        async with self.sessions() as session:
            rows = list(await session.scalars(select(QueueRow)))
        self.queues = {r.name: QueueConfig(
            name=r.name, call_type=r.call_type, skills=frozenset(r.skills), language=r.language,
            strategy=Strategy(r.strategy), max_wait_seconds=r.max_wait_seconds, overflow=r.overflow,
            announce_every_seconds=r.announce_every_seconds, moh_class=r.moh_class,
            wrap_up_seconds=r.wrap_up_seconds, survey=r.survey,
            record_calls=r.record_calls) for r in rows}
        await self.dispatch()

    async def reload_agents(self) -> None:
        """Take in agents added or changed through the API; live states are kept. At start,
        agents come back in the states they had, ringing and on a call included: whether their
        call is still live is known once the service has lined its calls up with Asterisk
        (`line_up`, R21), not before. Postgres is read before the lock is taken."""
        async with self.sessions() as session:
            rows = list(await session.scalars(select(AgentRow).where(AgentRow.is_active)))
        async with self._lock:
            fresh: dict[uuid.UUID, LiveAgent] = {}
            for row in rows:
                live = self.agents.get(row.id)
                state = AgentState(row.state) if live is None else live.state
                agent = LiveAgent(
                    id=row.id, name=row.name, level=Level(row.level),
                    endpoint=phones.dial_endpoint(phone_kind=row.phone_kind, contact=row.contact,
                                                  sip_username=row.sip_username),
                    skills=dict(row.skills), languages=frozenset(row.languages), team=row.team,
                    state=state, state_reason=row.state_reason if live is None else live.state_reason,
                    state_since=row.state_since if live is None else live.state_since,
                    ready_since=row.ready_since if live is None else live.ready_since,
                    misses_in_a_row=row.misses_in_a_row if live is None else live.misses_in_a_row,
                    calls_today=0 if live is None else live.calls_today,
                    call_id=None if live is None else live.call_id,
                    wrap_up=None if live is None else live.wrap_up)
                fresh[row.id] = agent
            self.agents = fresh
        await self.dispatch()

    def queue(self, name: str) -> QueueConfig | None:
        return self.queues.get(name)

    def staffed(self, name: str, language: str, min_level: Level | None = None) -> bool:
        """Whether anyone logged in could ever take a call of this queue (app_queue's
        joinempty=no), at `min_level` or above (R10): callers do not wait for agents who are not
        there."""
        config = self.queues.get(name)
        if config is None:
            return False
        need = CallNeed(call_id=uuid.uuid4(), language=config.language or language,
                        skills=config.skills, min_level=min_level)
        return any(a.state is not AgentState.logged_out and
                   eligible(replace(a.routing_view(), state=AgentState.ready), need)
                   for a in self.agents.values())

    def live_state(self, agent_id: uuid.UUID) -> dict | None:
        agent = self.agents.get(agent_id)
        if agent is None:
            return None
        return {"state": agent.state, "state_reason": agent.state_reason,
                "state_since": agent.state_since, "call_id": agent.call_id,
                "wrap_up_until": agent.wrap_up_until}

    # -- the agent's own requests -----------------------------------------------------------
    async def request_state(self, agent_id: uuid.UUID, state: str, reason: str | None) -> str:
        """Ready, paused (with a reason) or logged out, as the agent asks; answered from memory,
        the change stored behind in order (R19, R21: never waiting on Postgres). What the table
        refuses (ringing, on a call) is `AgentBusy`."""
        event = {"ready": AgentEvent.go_ready, "paused": AgentEvent.pause,
                 "logged_out": AgentEvent.log_out}[state]
        async with self._lock:
            agent = self.agents.get(agent_id)
            if agent is None:
                raise UnknownAgent()
            if agent.state is AgentState.logged_out and event is AgentEvent.go_ready:
                event = AgentEvent.log_in
            if agent.state is AgentState(state) and state != "paused":
                return agent.state
            if not can(agent.state, event):
                raise AgentBusy(f"the agent is {agent.state}")
            self._set(agent, event, reason if event is AgentEvent.pause else None)
        await self.dispatch()
        return agent.state

    # -- calls ------------------------------------------------------------------------------
    async def enqueue(self, *, call_id: uuid.UUID, channel_id: str, queue: str, language: str,
                      priority: int, enqueued_at: datetime, min_level: Level | None = None,
                      excluded: frozenset[uuid.UUID] = frozenset(), reoffer: bool = False) -> None:
        config = self.queues[queue]
        need = CallNeed(call_id=call_id, language=config.language or language,
                        skills=config.skills, min_level=min_level, excluded=excluded)
        entry = queue_order.WaitingCall(call_id=call_id, enqueued_at=enqueued_at, need=need,
                                        priority=priority, reoffer=reoffer)
        async with self._lock:
            self.waiting[call_id] = Waiting(call_id, channel_id, queue, entry,
                                            since=self.clock.monotonic())
        await self.dispatch()

    async def remove(self, call_id: uuid.UUID) -> None:
        """The caller hung up or overflowed: no longer waiting."""
        async with self._lock:
            self.waiting.pop(call_id, None)

    def announcement(self, call_id: uuid.UUID) -> list[str] | None:
        """What the waiting caller is told now: position and estimated wait (prompt names)."""
        entry = self.waiting.get(call_id)
        if entry is None:
            return None
        same_queue = [w.entry for w in self.waiting.values() if w.queue == entry.queue]
        position = queue_order.position(same_queue, call_id)
        working = sum(1 for a in self.agents.values()
                      if a.state not in (AgentState.logged_out, AgentState.paused))
        aht = (self.handle_seconds(entry.queue) if self.handle_seconds is not None
               else self.settings.average_handle_seconds)
        wait = queue_order.estimated_wait_seconds(position, working, aht)
        return announce.announcement(position, wait)

    async def dispatch(self) -> None:
        """Offer waiting calls to ready agents: each queue with its strategy, busiest first."""
        async with self._lock:
            if not self.waiting:  # nobody waits: nothing to look at (most calls to this, #9)
                return
            now = self.clock.now()
            free = {a.id: a for a in self.agents.values() if a.state is AgentState.ready}
            changes: list[StateChange] = []
            by_queue: dict[str, list[queue_order.WaitingCall]] = {}
            for w in self.waiting.values():
                by_queue.setdefault(w.queue, []).append(w.entry)
            heads = sorted(by_queue, key=lambda q: min(
                (not e.reoffer, -e.priority, e.enqueued_at) for e in by_queue[q]))
            for name in heads:
                if not free:
                    break
                config = self.queues.get(name)
                if config is None:
                    continue
                pairs = queue_order.assign(by_queue[name], [a.routing_view() for a in free.values()],
                                           config.strategy, now=now,
                                           last_agent_id=self._last_agent.get(name))
                for call_id, agent_id in pairs:
                    waiting = self.waiting.pop(call_id)
                    agent = free.pop(agent_id)
                    # The phone is dialled at once; the change is stored in order, meanwhile.
                    change = self._change(agent, AgentEvent.offer, call_id=call_id)
                    if change is None:  # the table refused (logged): the call waits on
                        self.waiting[call_id] = waiting
                        continue
                    changes.append(change)
                    self._last_agent[name] = agent_id
                    met_at = max(waiting.since, agent.ready_mono)
                    QUEUE_TO_RING_SECONDS.labels(stage="offered").observe(
                        max(self.clock.monotonic() - met_at, 0.0))
                    offer = OfferMade(channel_id=waiting.channel_id, offer_id=uuid.uuid4(),
                                      agent_id=agent_id, endpoint=agent.endpoint, queue=name,
                                      met_at=met_at)
                    log.info("acd.offer", call_id=str(call_id), agent=agent.name, queue=name)
                    self.notify(waiting.channel_id, offer)
            self._writer.put_nowait(changes)

    async def reserve(self, agent_id: uuid.UUID, *, call_id: uuid.UUID, channel_id: str,
                      queue: str, min_level: Level | None = None) -> OfferMade:
        """An offer to one named agent (a transfer, R12), if that agent is ready now (and senior
        enough, R10)."""
        async with self._lock:
            agent = self.agents.get(agent_id)
            if agent is None:
                raise UnknownAgent()
            if agent.state is not AgentState.ready:
                raise AgentBusy(f"the agent is {agent.state}, not ready")
            if not at_least(agent.level, min_level):
                raise AgentTooJunior(f"the call needs a {min_level} agent")
            self._set(agent, AgentEvent.offer, "transfer", call_id)
            return OfferMade(channel_id=channel_id, offer_id=uuid.uuid4(), agent_id=agent_id,
                             endpoint=agent.endpoint, queue=queue)

    async def offer_ended(self, agent_id: uuid.UUID, outcome: OfferOutcome) -> None:
        """The offer's result for the ringing agent: answered -> on call (`answer`); missed
        (no answer, busy, rejected) -> `miss`, paused with `missed_rings` after
        `HOTLINE_MAX_NO_ANSWER` misses in a row (R1), before that `miss_tolerated`, ready
        again; cancelled (the caller left) -> ready again (`offer_cancelled`). An agent no
        longer ringing (the result came late) is left as it is."""
        async with self._lock:
            agent = self.agents.get(agent_id)
            if agent is None or agent.state is not AgentState.ringing:
                return
            if outcome is OfferOutcome.answered:
                self._set(agent, AgentEvent.answer)
            elif outcome is OfferOutcome.cancelled:
                self._set(agent, AgentEvent.offer_cancelled)
            else:
                event = miss_event(agent.misses_in_a_row + 1, self.settings.max_no_answer)
                self._set(agent, event, PauseReason.missed_rings if event is AgentEvent.miss
                          else f"missed:{outcome}")
        await self.dispatch()

    async def call_ended(self, agent_id: uuid.UUID, queue: str | None) -> None:
        """The agent's call is over: wrap-up (R13), then ready by itself."""
        async with self._lock:
            agent = self.agents.get(agent_id)
            if agent is None or agent.state is not AgentState.on_call:
                return
            self._start_wrap_up(agent, queue)

    def _start_wrap_up(self, agent: LiveAgent, queue: str | None, *,
                       reason: str | None = None) -> None:
        """After-call work (R13) for the queue's wrap-up seconds, then ready by itself."""
        config = self.queues.get(queue or "")
        seconds = config.wrap_up_seconds if config else self.settings.wrap_up_seconds
        if self._set(agent, AgentEvent.call_ended, reason,
                     wrap_up_until=self.clock.now() + timedelta(seconds=seconds)):
            agent.wrap_up = asyncio.create_task(self._wrap_up(agent.id, seconds))

    async def _wrap_up(self, agent_id: uuid.UUID, seconds: float) -> None:
        await asyncio.sleep(seconds)
        async with self._lock:
            # By id: `reload_agents` may have replaced the agent's LiveAgent meanwhile.
            agent = self.agents.get(agent_id)
            if agent is not None and agent.state is AgentState.wrap_up:
                self._set(agent, AgentEvent.wrap_up_done)  # a waiting call is offered at once
        await self.dispatch()

    async def line_up(self, busy: dict[uuid.UUID, uuid.UUID]) -> None:
        """After a reconnect or a restart (R21): the agents follow the calls Asterisk still has.
        `busy`: agents whose phone rings or who talk on a live call -> that call. An agent left
        ringing for a call that is gone is ready again (`call_gone`); one left on a call that is
        gone goes through wrap-up (R13), as after any call; one in wrap-up without its timer (the
        service restarted) gets the rest of it; one on a live call stays on it."""
        async with self._lock:
            for agent in self.agents.values():
                call_id = busy.get(agent.id)
                if call_id is not None:
                    if agent.state in (AgentState.ringing, AgentState.on_call):
                        agent.call_id = call_id
                elif agent.state is AgentState.ringing:
                    self._set(agent, AgentEvent.call_gone, "call_gone")
                elif agent.state is AgentState.on_call:
                    self._start_wrap_up(agent, None, reason="call_gone")
                elif agent.state is AgentState.wrap_up and agent.wrap_up is None:
                    left = ((agent.wrap_up_until - self.clock.now()).total_seconds()
                            if agent.wrap_up_until is not None else 0.0)
                    agent.wrap_up = asyncio.create_task(self._wrap_up(agent.id, max(left, 0.0)))
        await self.dispatch()

    # -- helpers ----------------------------------------------------------------------------
    def _cancel_wrap_up(self, agent: LiveAgent) -> None:
        """Stop the wrap-up timer (not from within the timer's own task, which is ending)."""
        task, agent.wrap_up = agent.wrap_up, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    def _set(self, agent: LiveAgent, event: AgentEvent, reason: str | None = None,
             call_id: uuid.UUID | None = None, *, wrap_up_until: datetime | None = None) -> bool:
        """Fire `event` (`_change`) and hand the change to the writer, which stores it in order
        behind (R19); nothing here waits on Postgres (R21). Whether the table allowed it."""
        change = self._change(agent, event, reason, call_id, wrap_up_until=wrap_up_until)
        if change is not None:
            self._writer.put_nowait([change])
        return change is not None

    def _change(self, agent: LiveAgent, event: AgentEvent, reason: str | None = None,
                call_id: uuid.UUID | None = None, *,
                wrap_up_until: datetime | None = None) -> StateChange | None:
        """The one place an agent's state changes: the table (`next_agent_state`) says into
        what, or refuses (logged, nothing changed, None). In memory, under the lock; the
        returned change is for the writer to store (R19).

        What goes with the state follows from it and the event: the agent's call is `call_id`
        on an `offer`, kept while on the call, gone otherwise; misses in a row (R1) count up on
        a miss and start again on an answer or the agent's ready/log-in; an answer counts for
        `calls_today`; `wrap_up_until` is kept only in wrap_up, leaving which stops its timer
        (R13). The stored change names the call it is about (the agent's, before or after)."""
        previous = agent.state
        try:
            state = next_agent_state(previous, event)
        except InvalidAgentTransition:
            log.warning("acd.transition_refused", agent=agent.name, state=previous, on=str(event))
            return None
        now = self.clock.now()
        about = call_id or agent.call_id
        agent.call_id = (call_id if state is AgentState.ringing else
                         agent.call_id if state is AgentState.on_call else None)
        if event in (AgentEvent.miss, AgentEvent.miss_tolerated):
            agent.misses_in_a_row += 1
        elif event in (AgentEvent.answer, AgentEvent.go_ready, AgentEvent.log_in):
            agent.misses_in_a_row = 0
        if event is AgentEvent.answer:
            agent.calls_today += 1
        if previous is AgentState.wrap_up and state is not AgentState.wrap_up:
            self._cancel_wrap_up(agent)
        agent.wrap_up_until = wrap_up_until if state is AgentState.wrap_up else None
        agent.state, agent.state_reason, agent.state_since = state, reason, now
        if state is AgentState.ready:
            agent.ready_since, agent.ready_mono = now, self.clock.monotonic()
        elif state is AgentState.logged_out:
            agent.ready_since = None
        log.info("acd.agent_state", agent=agent.name, from_state=previous, to_state=state,
                 on=str(event), reason=reason)
        if self.desk is not None:  # the agent's screen shows the state and the wrap-up timer
            self.desk.agent_state(agent.id, state=str(state), reason=reason, since=now,
                                  wrap_up_until=agent.wrap_up_until, call_id=about)
        return StateChange(agent.id, now, previous, state, str(event), reason, about,
                           agent.misses_in_a_row)

    async def close(self) -> None:
        for agent in self.agents.values():
            self._cancel_wrap_up(agent)
        await self._writer.drain()

