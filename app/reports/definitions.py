"""The report figures, defined once as plain arithmetic over call and offer facts (R18, R19).

- offered: calls that entered a queue (`enqueued_at` set);
- answered: offered calls an agent answered (`connected_at` set);
- abandoned: offered calls whose caller hung up while queued or while an agent's phone rang
  (`end_reason = abandoned_in_queue`); abandoned_in_ivr is counted apart and never in `offered`;
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


def summarise(calls: Iterable[CallFacts], offers: Iterable[OfferFacts], *,
              threshold_seconds: float, short_abandon_seconds: float,
              ring_limit_seconds: float) -> Summary:
    total = offered = answered = abandoned = short = in_ivr = in_threshold = 0
    waits: list[float] = []
    talks: list[float] = []
    for c in calls:
        total += 1
        if c.end_reason == "abandoned_in_ivr":
            in_ivr += 1
        if c.enqueued_at is None:
            continue
        offered += 1
        if c.connected_at is not None:
            answered += 1
            wait = _seconds(c.enqueued_at, c.connected_at)
            waits.append(wait)
            if wait <= threshold_seconds:
                in_threshold += 1
            if c.ended_at is not None:
                talks.append(_seconds(c.connected_at, c.ended_at))
        elif c.end_reason == "abandoned_in_queue":
            abandoned += 1
            if c.ended_at is not None and _seconds(c.enqueued_at, c.ended_at) < short_abandon_seconds:
                short += 1
    offers_answered = in_limit = missed = 0
    for o in offers:
        if o.outcome == "answered":
            offers_answered += 1
            if o.ring_seconds is not None and o.ring_seconds <= ring_limit_seconds:
                in_limit += 1
        elif o.outcome == "no_answer":
            missed += 1
    return Summary(
        calls=total, offered=offered, answered=answered, abandoned=abandoned,
        short_abandoned=short, abandoned_in_ivr=in_ivr, answered_in_threshold=in_threshold,
        abandon_rate=ratio(abandoned - short, offered - short),
        service_level=ratio(in_threshold, answered + abandoned - short),
        asa_seconds=sum(waits) / len(waits) if waits else None,
        average_talk_seconds=sum(talks) / len(talks) if talks else None,
        offers_answered=offers_answered, offers_answered_in_limit=in_limit, offers_missed=missed,
        three_ring_compliance=ratio(in_limit, offers_answered))
