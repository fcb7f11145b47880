"""Waiting calls: who is served first, who gets which agent, position and estimated wait.

Pure functions over data (R9 automatic distribution and queueing):
- `order`: re-offered calls first (a call whose agent missed it keeps its place at the head, R1),
  then higher priority first (important customers, R11), then first come first served.
- `assign`: pairs waiting calls with ready agents, never one agent twice and never one call twice
  (no double offers), as many pairs as possible, earlier calls first: a call nobody can take does
  not block the calls behind it.
- `position` and `estimated_wait_seconds`: what the caller is told on entry and periodically.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from routing.strategies import Agent, CallNeed, Id, Strategy, rank_agents


@dataclass(frozen=True, kw_only=True)
class WaitingCall:
    """A call waiting in a queue.

    `reoffer` marks a call whose offer an agent missed: it goes back to the head of the queue,
    ahead of every call that was not re-offered, keeping its original `enqueued_at`.
    """

    call_id: Id
    enqueued_at: datetime
    need: CallNeed
    priority: int = 0      # higher first; important customers get a higher one (R11)
    reoffer: bool = False

    def __post_init__(self) -> None:
        if self.need.call_id != self.call_id:
            raise ValueError(f"need is for call {self.need.call_id}, not {self.call_id}")


def _queue_key(call: WaitingCall) -> tuple[bool, int, datetime, Id]:
    return (not call.reoffer, -call.priority, call.enqueued_at, call.call_id)


def order(waiting: Iterable[WaitingCall]) -> list[WaitingCall]:
    """The calls in serving order: re-offers first, then priority (high first, R11), then
    `enqueued_at` (FIFO), then call id (deterministic)."""
    calls = list(waiting)
    ids = [c.call_id for c in calls]
    if len(set(ids)) != len(ids):
        raise ValueError("call ids must be unique")
    return sorted(calls, key=_queue_key)


def assign(waiting: Iterable[WaitingCall], agents: Iterable[Agent],
           strategy: Strategy = Strategy.longest_idle, *, now: datetime,
           last_agent_id: Id | None = None) -> list[tuple[Id, Id]]:
    """`(call_id, agent_id)` pairs to offer now, in queue order (R9).

    Guarantees: each agent and each call appears at most once (no double offers); only eligible
    agents are used; as many calls as possible are served, and a later call is never served at
    the expense of an earlier one (a call is left waiting only if serving it would leave an
    earlier call without an agent).

    Calls are taken in `order`. Each gets the free agent its strategy ranks first. If no eligible
    agent is free, earlier calls are moved to other agents they rank next (the shortest such
    chain of moves) when that frees one for this call; this changes an earlier call's agent only to
    serve one more caller. For round robin, `last_agent_id` advances with each assignment.
    """
    calls = order(waiting)
    agents = list(agents)
    by_id = {a.id: a for a in agents}
    if len(by_id) != len(agents):
        raise ValueError("agent ids must be unique")

    preferences: list[list[Id]] = []          # per call index: eligible agent ids, best first
    agent_of: dict[int, Id] = {}              # call index -> agent id
    holder_of: dict[Id, int] = {}             # agent id -> call index
    for index, call in enumerate(calls):
        ranked = rank_agents(agents, call.need, strategy, now=now, last_agent_id=last_agent_id)
        preferences.append([a.id for a in ranked])
        if _augment(index, preferences, agent_of, holder_of):
            last_agent_id = agent_of[index]
    return [(calls[i].call_id, agent_of[i]) for i in sorted(agent_of)]


def _augment(start: int, preferences: list[list[Id]], agent_of: dict[int, Id],
             holder_of: dict[Id, int]) -> bool:
    """Find an agent for call `start`, moving earlier calls along the shortest chain if needed.

    Breadth-first search over alternating paths (Kuhn/Hopcroft-Karp style), exploring each call's
    agents in its preference order, so the outcome is deterministic and a free first choice is
    taken directly. Calls already matched stay matched.
    """
    reached_from: dict[Id, int] = {}          # agent id -> the call that reached it
    frontier = deque([start])
    while frontier:
        call = frontier.popleft()
        for agent_id in preferences[call]:
            if agent_id in reached_from:
                continue
            reached_from[agent_id] = call
            holder = holder_of.get(agent_id)
            if holder is None:
                _flip(agent_id, start, reached_from, agent_of, holder_of)
                return True
            frontier.append(holder)
    return False


def _flip(agent_id: Id, start: int, reached_from: dict[Id, int], agent_of: dict[int, Id],
          holder_of: dict[Id, int]) -> None:
    """Apply the chain of moves that ends at the free agent `agent_id`."""
    while True:
        call = reached_from[agent_id]
        previous = agent_of.get(call)
        agent_of[call], holder_of[agent_id] = agent_id, call
        if call == start:
            return
        assert previous is not None
        agent_id = previous


def position(waiting: Iterable[WaitingCall], call_id: Id) -> int:
    """The call's 1-based place in serving `order`; KeyError if it is not waiting."""
    for place, call in enumerate(order(waiting), start=1):
        if call.call_id == call_id:
            return place
    raise KeyError(call_id)


def estimated_wait_seconds(position: int, ready_or_soon_agents: int,
                           average_handle_seconds: float) -> float | None:
    """Estimated seconds until an agent takes the call at `position` (announced to the caller).

    Model: `ready_or_soon_agents` agents (n) serve the queue, each call taking
    `average_handle_seconds` (AHT). The first n callers get an agent at once: 0. Beyond that the
    caller waits for (position - n) calls to finish, which n agents complete together at n per
    AHT:

        wait = max(0, position - n) * AHT / n

    None when no agent serves the queue (no honest estimate; announce the position only).
    """
    if position < 1:
        raise ValueError(f"position is 1-based, got {position}")
    if ready_or_soon_agents < 0:
        raise ValueError(f"ready_or_soon_agents must not be negative, got {ready_or_soon_agents}")
    if average_handle_seconds < 0:
        raise ValueError(
            f"average_handle_seconds must not be negative, got {average_handle_seconds}")
    if ready_or_soon_agents == 0:
        return None
    ahead = max(0, position - ready_or_soon_agents)
    return ahead * average_handle_seconds / ready_or_soon_agents
