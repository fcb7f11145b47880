"""Which agents may take a call, and which one gets it: pure functions, deterministic.

`eligible` enforces the hard constraints: the agent is ready (R9), speaks the call's language (R5),
has every skill the call needs, is senior enough (R10: major complaints and escalations need a
senior) and has not already missed this call. `rank_agents` orders the eligible agents by a
`Strategy` with deterministic tie-breaks, and `choose_agent` takes the first.

Ids (agent and call) may be str, int or UUID, one kind per run: they are compared for stable
ordering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from routing.agent_state import AgentState

Id = str | int | UUID

MIN_PROFICIENCY, MAX_PROFICIENCY = 1, 5


class Level(StrEnum):
    """An agent's level (R10). Compare with `LEVEL_RANK`, not `<` (that compares strings)."""

    junior = "junior"
    intermediate = "intermediate"
    senior = "senior"


LEVEL_RANK: Mapping[Level, int] = {Level.junior: 1, Level.intermediate: 2, Level.senior: 3}


def at_least(level: Level, minimum: Level | None) -> bool:
    """Whether `level` is `minimum` or higher; any level is enough when there is no minimum."""
    return minimum is None or LEVEL_RANK[level] >= LEVEL_RANK[minimum]


@dataclass(frozen=True)
class Agent:
    """What routing needs to know of an agent right now."""

    id: Id
    level: Level
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> proficiency 1..5
    languages: frozenset[str] = frozenset()
    team: str | None = None
    state: AgentState = AgentState.logged_out
    ready_since: datetime | None = None  # when the agent last became ready (idle time)
    calls_today: int = 0

    def __post_init__(self) -> None:
        for skill, proficiency in self.skills.items():
            if not MIN_PROFICIENCY <= proficiency <= MAX_PROFICIENCY:
                raise ValueError(f"agent {self.id}: proficiency of {skill!r} must be "
                                 f"{MIN_PROFICIENCY}..{MAX_PROFICIENCY}, got {proficiency}")
        if self.calls_today < 0:
            raise ValueError(f"agent {self.id}: calls_today must not be negative")


@dataclass(frozen=True)
class CallNeed:
    """What a waiting call requires of the agent who takes it."""

    call_id: Id
    language: str | None = None        # None: any language will do
    skills: frozenset[str] = frozenset()
    min_level: Level | None = None     # R10: senior for major complaints and escalations
    excluded: frozenset[Id] = frozenset()  # agents who already missed this call


class Strategy(StrEnum):
    longest_idle = "longest_idle"      # the agent ready the longest (the default)
    round_robin = "round_robin"        # the next agent by id after the last one chosen
    fewest_calls = "fewest_calls"      # fewest calls today, then longest idle
    skill_weighted = "skill_weighted"  # highest proficiency over needed skills, then longest idle


def eligible(agent: Agent, need: CallNeed) -> bool:
    """Whether `agent` may be offered the call: ready (R9), speaks its language (R5), has every
    needed skill, is at least `need.min_level` (R10) and has not already missed it (R1)."""
    return (agent.state is AgentState.ready
            and (need.language is None or need.language in agent.languages)
            and need.skills <= agent.skills.keys()
            and at_least(agent.level, need.min_level)
            and agent.id not in need.excluded)


def skill_score(agent: Agent, need: CallNeed) -> int:
    """The sum of the agent's proficiency over the skills the call needs."""
    return sum(agent.skills.get(skill, 0) for skill in need.skills)


def rank_agents(agents: Iterable[Agent], need: CallNeed, strategy: Strategy = Strategy.longest_idle,
                *, now: datetime, last_agent_id: Id | None = None) -> list[Agent]:
    """The agents eligible for `need`, best first by `strategy`; every tie is broken by id.

    Idle time is `now - ready_since`; an agent ready with no `ready_since` counts as ready since
    `now` (least idle). Round robin starts after `last_agent_id` in id order and wraps; that agent
    need not be in `agents` any more.
    """
    agents = list(agents)
    _check_unique(agents)
    candidates = [a for a in agents if eligible(a, need)]

    def idle_key(agent: Agent) -> tuple[datetime, Id]:
        return (agent.ready_since or now, agent.id)

    match strategy:
        case Strategy.longest_idle:
            return sorted(candidates, key=idle_key)
        case Strategy.fewest_calls:
            return sorted(candidates, key=lambda a: (a.calls_today, *idle_key(a)))
        case Strategy.skill_weighted:
            return sorted(candidates, key=lambda a: (-skill_score(a, need), *idle_key(a)))
        case Strategy.round_robin:
            by_id = sorted(candidates, key=lambda a: a.id)
            if last_agent_id is None:
                return by_id
            after = [a for a in by_id if a.id > last_agent_id]
            return after + [a for a in by_id if not a.id > last_agent_id]
    raise ValueError(f"unknown strategy {strategy!r}")


def choose_agent(agents: Iterable[Agent], need: CallNeed,
                 strategy: Strategy = Strategy.longest_idle, *, now: datetime,
                 last_agent_id: Id | None = None) -> Agent | None:
    """The agent to offer the call to, by `strategy`; None when no agent is eligible."""
    ranked = rank_agents(agents, need, strategy, now=now, last_agent_id=last_agent_id)
    return ranked[0] if ranked else None


def _check_unique(agents: list[Agent]) -> None:
    ids = [a.id for a in agents]
    if len(set(ids)) != len(ids):
        raise ValueError("agent ids must be unique")
