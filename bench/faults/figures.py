"""The fault benchmark's arithmetic, pure: SIPp's log lines in, one row of figures per fault out.

Every caller has a number of its own (the injection file), so a call is followed by its number
through the callers' log (start, answered by Asterisk, done: the script completed), the agents'
log (an agent's phone answered a call from that number) and the `calls` table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# The row a `calls` record gives: (ended_at is set, end_reason is set).
Record = tuple[bool, bool]


@dataclass
class CallerCall:
    number: str
    started: float
    answered: float | None = None   # Asterisk answered (200 OK): a record is due from here on
    done: float | None = None       # the caller's script completed (it hung up as planned)


@dataclass(frozen=True)
class Episode:
    """One fault: callers from `start`, the fault from `fault_start` to `fault_end` (epoch s)."""

    name: str
    start: float
    fault_start: float
    fault_end: float


@dataclass
class Row:
    fault: str
    attempted: int = 0
    answered: int = 0                # reached an agent (the agent's phone answered)
    dropped: int = 0                 # the caller's script failed: refused, cut off, hung up on
    during_attempted: int = 0        # callers who came while the fault lasted
    during_answered: int = 0         # ... and still reached an agent
    stuck_calls: int = 0             # records still open (ended_at NULL) after the run
    stuck_agents: int = 0            # ringing / on a call with no live channel, load stopped
    channels_left: int = 0           # Asterisk channels still up once every caller had gone
    missing: int = 0                 # answered by Asterisk, no record at all
    incomplete: int = 0              # a record without ended_at or end_reason
    recovery_seconds: float | None = None
    path_seconds: float | None = None  # a call's start to an agent's answer before the fault
    note: str = ""
    reasons: dict[str, int] = field(default_factory=dict)  # end_reason -> calls

    @property
    def clean(self) -> bool:
        return not (self.stuck_calls or self.stuck_agents or self.missing or self.incomplete)


_LINE = re.compile(r"^(start|answered|done)\|([^|]*)\|([^|]*)\|(.*)$")
_FROM_NUMBER = re.compile(r"sips?:\+?([0-9]+)@")


def epoch(stamp: str) -> float:
    """The epoch seconds SIPp's `[timestamp]` ends with
    (`2026-12-07\t20:07:29.21\t1796674049.21`)."""
    return float(stamp.split()[-1])


def parse_callers(text: str) -> dict[str, CallerCall]:
    """The callers' log lines, by number (a number is one call)."""
    calls: dict[str, CallerCall] = {}
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        what, number, _call_id, stamp = m.groups()
        at = epoch(stamp)
        if what == "start":
            calls.setdefault(number, CallerCall(number=number, started=at))
        elif number in calls:
            setattr(calls[number], what, at)
    return calls


def parse_agents(text: str) -> dict[str, float]:
    """The agents' log lines (`agent|<time>|<From header>`): the first time an agent's phone
    answered a call from each number."""
    answered: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) != 3 or parts[0] != "agent":
            continue
        m = _FROM_NUMBER.search(parts[2])
        if m:
            answered.setdefault(m.group(1), epoch(parts[1]))
    return answered


def recovery(episode: Episode, callers: Iterable[CallerCall],
             agents: dict[str, float]) -> float | None:
    """Seconds from the fault's end to an agent answering the first call placed after it
    (that call's way through the menu included); None: no such call reached an agent."""
    times = [agents[c.number] for c in callers
             if c.started >= episode.fault_end and c.number in agents]
    return round(min(times) - episode.fault_end, 1) if times else None


def path_seconds(callers: Iterable[CallerCall], agents: dict[str, float]) -> float | None:
    """The median time from a call's start to an agent answering it (the menu, the queue, a
    ring): what a recovery time includes on a calm system."""
    spans = sorted(agents[c.number] - c.started for c in callers if c.number in agents)
    return round(spans[len(spans) // 2], 1) if spans else None


def row(episode: Episode, callers: dict[str, CallerCall], agents: dict[str, float],
        records: dict[str, Record], reasons: dict[str, str | None] | None = None) -> Row:
    """The figures of one fault from its callers (by number), the agents' answers (by number)
    and the `calls` records of those numbers ((ended_at set, end_reason set) by number)."""
    out = Row(fault=episode.name, attempted=len(callers))
    for c in callers.values():
        reached = c.number in agents
        out.answered += reached
        out.dropped += c.done is None
        if episode.fault_start <= c.started < episode.fault_end:
            out.during_attempted += 1
            out.during_answered += reached
        record = records.get(c.number)
        if record is None:
            out.missing += c.answered is not None
            continue
        ended, has_reason = record
        out.stuck_calls += not ended
        out.incomplete += not (ended and has_reason)
    for number in callers:
        if number in records:
            reason = (reasons or {}).get(number) or "none"
            out.reasons[reason] = out.reasons.get(reason, 0) + 1
    out.recovery_seconds = recovery(episode, callers.values(), agents)
    out.path_seconds = path_seconds(
        [c for c in callers.values() if c.started < episode.fault_start], agents)
    return out


def stuck_agents(agents: Iterable[dict], live_channels: set[str],
                 calls: dict[str, set[str]]) -> list[dict]:
    """Agents ringing or on a call (the service's live state) none of whose call's channels
    (`calls`: call id -> the caller's and the agents' channel ids) is up in Asterisk."""
    stuck = []
    for agent in agents:
        if agent.get("state") not in ("ringing", "on_call"):
            continue
        channels = calls.get(str(agent.get("call_id")), set())
        if not channels & live_channels:
            stuck.append(agent)
    return stuck
