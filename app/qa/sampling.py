"""Which recordings quality inspectors listen to each month (R16), as pure decisions.

The rule, per agent and local month (in HOTLINE_TIMEZONE):
- N recordings (HOTLINE_QA_SAMPLES_PER_AGENT, 1-5, default 3; a run may ask for another N in
  1-5), of those stored and not sampled before; an agent with fewer gets all of them;
- spread over the month: the month is cut into N equal slots and each slot not yet covered by
  an earlier sample gets one recording from inside it, picked at random among those at least
  HOTLINE_QA_MIN_DURATION_SECONDS long (long enough to judge); slots without one are filled from
  the other long recordings at random, and only then from the shorter ones, longest first;
- reproducible: the randomness is seeded with the month, the agent and the run's seed, so the
  same data give the same sample;
- topping up: a second run counts the samples the agent already has for the month and adds only
  what is missing (never the same recording twice: that is also a unique constraint).

New samples go to the active inspectors with the fewest open (unscored) samples; ties to the
inspector first in the given order.
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Hashable, TypeVar
from zoneinfo import ZoneInfo

# Years 2000-2999 (#20: year 0 and year 9999's next month were 500s).
MONTH = re.compile(r"^(2[0-9]{3})-(0[1-9]|1[0-2])$")
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Candidate:
    """A stored recording of the agent in the month, not sampled yet."""

    recording_id: uuid.UUID
    started_at: datetime
    duration_seconds: float | None


def parse_month(text: str) -> date:
    """`2026-10` as the first day of that month; ValueError otherwise."""
    match = MONTH.match(text)
    if not match:
        raise ValueError(f"not a month: {text!r} (YYYY-MM)")
    return date(int(match[1]), int(match[2]), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[first local midnight of the month, first local midnight of the next) as aware times."""
    return (datetime.combine(month, time(), tzinfo=zone),
            datetime.combine(next_month(month), time(), tzinfo=zone))


def month_of(at: datetime, zone: ZoneInfo) -> date:
    local = at.astimezone(zone)
    return date(local.year, local.month, 1)


def previous_month(now: datetime, zone: ZoneInfo) -> date:
    """The local month before the one `now` is in: what the monthly job samples."""
    this = month_of(now, zone)
    return date(this.year - (this.month == 1), (this.month - 2) % 12 + 1, 1)


def seed_of(month: date, agent_id: uuid.UUID, run_seed: str = "") -> int:
    digest = hashlib.sha256(f"{month.isoformat()}|{agent_id}|{run_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def pick(candidates: Sequence[Candidate], *, n: int, already: Sequence[datetime],
         start: datetime, end: datetime, min_seconds: float, seed: int) -> list[Candidate]:
    """The recordings to add so the agent has `n` samples for the month [start, end)."""
    if not 1 <= n <= 5:
        raise ValueError("samples per agent must be 1 to 5 (R16)")
    need = n - len(already)
    if need <= 0 or not candidates:
        return []
    rng = random.Random(seed)
    width = (end - start) / n

    def slot(at: datetime) -> int:
        return max(0, min(n - 1, int((at - start) / width))) if width > timedelta(0) else 0

    ordered = sorted(candidates, key=lambda c: (c.started_at, str(c.recording_id)))
    long = [c for c in ordered if (c.duration_seconds or 0) >= min_seconds]
    short = [c for c in ordered if (c.duration_seconds or 0) < min_seconds]
    covered = {slot(at) for at in already}
    free = [s for s in range(n) if s not in covered]
    rng.shuffle(free)
    chosen: list[Candidate] = []
    for s in free:
        if len(chosen) == need:
            break
        pool = [c for c in long if slot(c.started_at) == s]
        if pool:
            chosen.append(rng.choice(pool))
    rest = [c for c in long if c not in chosen]
    chosen += rng.sample(rest, min(len(rest), need - len(chosen)))
    if len(chosen) < need:  # not enough long ones: the longest of the short ones
        by_length = sorted(short, key=lambda c: (-(c.duration_seconds or 0), c.started_at,
                                                 str(c.recording_id)))
        chosen += by_length[:need - len(chosen)]
    return sorted(chosen, key=lambda c: (c.started_at, str(c.recording_id)))


def assign(items: Sequence[K], *, inspectors: Sequence[uuid.UUID],
           open_load: Mapping[uuid.UUID, int]) -> dict[K, uuid.UUID]:
    """Each item to the inspector with the least open work at that moment (ties: the first in
    `inspectors`); no inspectors, no assignments."""
    if not inspectors:
        return {}
    load = {i: open_load.get(i, 0) for i in inspectors}
    rank = {i: n for n, i in enumerate(inspectors)}
    out: dict[K, uuid.UUID] = {}
    for item in items:
        who = min(inspectors, key=lambda i: (load[i], rank[i]))
        out[item] = who
        load[who] += 1
    return out
