"""The report figures, defined once as plain arithmetic over call and offer facts (R18, R19).

- offered: calls that entered a queue (`enqueued_at` set);
- answered: offered calls an agent answered (`connected_at` set);
- abandoned: offered calls whose caller hung up while queued or while an agent's phone rang
  (`end_reason` in `ABANDONED`: abandoned_in_queue, or fallback_abandoned when the dialplan's
  fallback rang agents while no service ran, R21); abandoned_in_ivr is counted apart and never
  in `offered`. A fallback call an agent answered is answered like any other (`connected_at`);
  one where the caller left a message is offered, neither answered nor abandoned;
- short abandons: abandoned within `short_abandon_seconds` of entering the queue (default 5 s):
  shown, and left out of the rates;
- abandon rate = (abandoned - short) / (offered - short);
- service level = answered within the threshold (queue entry to the agent answering, default
  the three-ring limit) / (answered + abandoned - short);
- three-ring compliance = answered offers that rang at most the ring limit / answered offers;
  missed offers are those that ended `no_answer` (per agent in the agents report);
- ASA = the mean of (connected_at - enqueued_at) over answered calls;
- average talk = the mean of (ended_at - connected_at) over answered calls that ended.
A rate whose denominator is 0 is None (shown as "-"), never 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


# The end reasons of a caller who hung up while an agent's phone rang or they were queued.
ABANDONED = ("abandoned_in_queue", "fallback_abandoned")


@dataclass(frozen=True)
class CallFacts:
    started_at: datetime
    enqueued_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


@dataclass(frozen=True)
class OfferFacts:
    outcome: str | None
    ring_seconds: float | None


@dataclass(frozen=True)
class Summary:
    calls: int
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    abandoned_in_ivr: int
    answered_in_threshold: int
    abandon_rate: float | None
    service_level: float | None
    asa_seconds: float | None
    average_talk_seconds: float | None
    offers_answered: int
    offers_answered_in_limit: int
    offers_missed: int
    three_ring_compliance: float | None


def ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else part / whole


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


@dataclass
class Totals:
    """The sums every figure is made of. They add up across hours, queues and call types, so
    the pre-computed hourly rollups and the raw calls give the same figures (`finish`)."""

    calls: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandoned_in_ivr: int = 0
    answered_in_threshold: int = 0
    wait_sum: float = 0.0
    talk_sum: float = 0.0
    talked: int = 0
    offers_answered: int = 0
    offers_answered_in_limit: int = 0
    offers_missed: int = 0

    def add(self, other: "Totals") -> "Totals":
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def finish(self) -> Summary:
        return Summary(
            calls=self.calls, offered=self.offered, answered=self.answered,
            abandoned=self.abandoned, short_abandoned=self.short_abandoned,
            abandoned_in_ivr=self.abandoned_in_ivr,
            answered_in_threshold=self.answered_in_threshold,
            abandon_rate=ratio(self.abandoned - self.short_abandoned,
                               self.offered - self.short_abandoned),
            service_level=ratio(self.answered_in_threshold,
                                self.answered + self.abandoned - self.short_abandoned),
            asa_seconds=self.wait_sum / self.answered if self.answered else None,
            average_talk_seconds=self.talk_sum / self.talked if self.talked else None,
            offers_answered=self.offers_answered,
            offers_answered_in_limit=self.offers_answered_in_limit,
            offers_missed=self.offers_missed,
            three_ring_compliance=ratio(self.offers_answered_in_limit, self.offers_answered))


def summarise(calls: Iterable[CallFacts], offers: Iterable[OfferFacts], *,
              threshold_seconds: float, short_abandon_seconds: float,
              ring_limit_seconds: float) -> Summary:
    t = Totals()
    for c in calls:
        t.calls += 1
        if c.end_reason == "abandoned_in_ivr":
            t.abandoned_in_ivr += 1
        if c.enqueued_at is None:
            continue
        t.offered += 1
        if c.connected_at is not None:
            t.answered += 1
            wait = _seconds(c.enqueued_at, c.connected_at)
            t.wait_sum += wait
            if wait <= threshold_seconds:
                t.answered_in_threshold += 1
            if c.ended_at is not None:
                t.talked += 1
                t.talk_sum += _seconds(c.connected_at, c.ended_at)
        elif c.end_reason in ABANDONED:
            t.abandoned += 1
            if c.ended_at is not None and _seconds(c.enqueued_at, c.ended_at) < short_abandon_seconds:
                t.short_abandoned += 1
    for o in offers:
        if o.outcome == "answered":
            t.offers_answered += 1
            if o.ring_seconds is not None and o.ring_seconds <= ring_limit_seconds:
                t.offers_answered_in_limit += 1
        elif o.outcome == "no_answer":
            t.offers_missed += 1
    return t.finish()
