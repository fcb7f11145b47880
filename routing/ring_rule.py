"""The three-ring rule's arithmetic (R1): pure functions, no clock reading.

An agent offered a call must pick up before the third ring is over. One ring is one ring cadence
(China: 1 s on + 4 s off = 5 s; North America: 6 s), so the limit is `max_rings x cycle_seconds`
(`HOTLINE_MAX_RINGS` x `HOTLINE_RING_CYCLE_SECONDS`, 3 x 5 s by default). A caller whose wait for a
human went past that limit hears an apology as the agent connects (R1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Ring counting works on the ratio ring_seconds / cycle: this absorbs float noise (3.3 s / 1.1 s is
# 3.0000000000000004, still 3 rings) while a late microsecond on a 5 s cycle (2e-7) still counts.
_EPSILON = 1e-9


def ring_limit_seconds(max_rings: int, cycle_seconds: float) -> float:
    """How long an offered agent's phone may ring (R1): `max_rings` whole ring cycles."""
    if max_rings < 1:
        raise ValueError(f"max_rings must be at least 1, got {max_rings}")
    _check_cycle(cycle_seconds)
    return max_rings * cycle_seconds


def rings(ring_seconds: float, cycle_seconds: float) -> int:
    """How many rings `ring_seconds` of ringing is: ceil(ring_seconds / cycle), 0 for no ringing.

    A ring that has started counts, and a phone picked up exactly at the end of a cycle is within
    it: 10.0 s at a 5 s cycle is 2 rings, 10.001 s is 3.
    """
    _check_cycle(cycle_seconds)
    if ring_seconds < 0:
        raise ValueError(f"ring_seconds must not be negative, got {ring_seconds}")
    return max(0, math.ceil(ring_seconds / cycle_seconds - _EPSILON))


def deadline(ringing_at: datetime, limit_seconds: float) -> datetime:
    """When an offer that started ringing at `ringing_at` must be given up as no_answer (R1)."""
    if limit_seconds < 0:
        raise ValueError(f"limit_seconds must not be negative, got {limit_seconds}")
    return ringing_at + timedelta(seconds=limit_seconds)


def apology_due(waited_for_human_seconds: float, limit_seconds: float) -> bool:
    """Whether the caller waited for a human longer than the ring limit (R1: "a call answered late
    must start with an apology"). A wait of exactly the limit is on time: no apology."""
    return waited_for_human_seconds > limit_seconds


def _check_cycle(cycle_seconds: float) -> None:
    if not cycle_seconds > 0:
        raise ValueError(f"cycle_seconds must be positive, got {cycle_seconds}")


class OfferOutcome(StrEnum):
    answered = "answered"
    no_answer = "no_answer"   # the ring limit passed (R1)
    busy = "busy"
    rejected = "rejected"
    cancelled = "cancelled"   # the caller hung up, or another agent took the call


_count_rings = rings


@dataclass(frozen=True)
class OfferRecord:
    """One finished offer of a call to an agent, as stored in the call's `offers[]` (R1).

    `ringing_at` is None when the phone never rang (busy, or cancelled before it rang). An
    answered offer has `answered_at` (and `ended_at` once the call is over); any other outcome has
    no `answered_at` and has `ended_at`.
    """

    offered_at: datetime
    ringing_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: OfferOutcome

    def __post_init__(self) -> None:
        if self.outcome is OfferOutcome.answered:
            if self.answered_at is None:
                raise ValueError("an answered offer needs answered_at")
        else:
            if self.answered_at is not None:
                raise ValueError(f"a {self.outcome} offer cannot have answered_at")
            if self.ended_at is None:
                raise ValueError(f"a {self.outcome} offer needs ended_at")

    @property
    def ring_seconds(self) -> float:
        """Seconds of ringing: from `ringing_at` (or `offered_at` if it never rang) to the answer,
        or to the end if unanswered. Never negative (timestamps out of order count as 0)."""
        start = self.ringing_at or self.offered_at
        stop = self.answered_at or self.ended_at
        assert stop is not None  # guaranteed by __post_init__
        return max(0.0, (stop - start).total_seconds())

    def rings(self, cycle_seconds: float) -> int:
        """How many rings this offer rang (R1), ceil(ring_seconds / cycle)."""
        return _count_rings(self.ring_seconds, cycle_seconds)

    def within_limit(self, limit_seconds: float) -> bool:
        """Whether this offer kept R1: it rang no longer than the limit and was not given up as
        no_answer (an offer given up at the limit breached the rule even if stopped on time)."""
        return self.outcome is not OfferOutcome.no_answer and self.ring_seconds <= limit_seconds
