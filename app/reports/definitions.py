"""The report figures, defined once as plain arithmetic over call and offer facts (R1, R18, R19).
Reports, the dashboard, the wallboard and the rollups all go through `Totals.finish`; the SQL of
`queries.raw_totals` sums exactly what `summarise` sums here.

Calls:
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
- service level = answered within the threshold of entering the queue / (answered + abandoned
  - short). The threshold is the queue's own (`queues.service_level_seconds`), else the
  setting, else the three-ring limit;
- ASA = the mean of (connected_at - enqueued_at) over answered calls;
- AHT = (talk + hold + wrap-up) / handled calls: talk and hold are the time from the answer to
  the call's end (a caller held during a warm transfer is still on the call), wrap-up the
  agents' time in `wrap_up` after the call (their state change naming the call, until their next
  change); handled calls are answered calls that ended. A wrap-up still running counts once it ends;
- average talk = the mean of (ended_at - connected_at) over handled calls.
Three-ring compliance (R1), three ways, each of which falls when a phone rings out:
- per offer (`three_ring_compliance`) = offers answered within the ring limit / offers decided.
  Decided: answered, no_answer (rang out: counts against), busy or rejected (counts against);
  an offer `cancelled` while it rang within the limit (the caller hung up, or the call was
  taken elsewhere) is nobody's answer and is left out;
- per call, by its first offer (`three_ring_first_offer`) = calls whose first offer was answered
  within the ring limit / calls whose first offer was decided;
- per call, as the caller feels it (`three_ring_caller`) = offered calls a person answered within
  the ring limit of entering the queue / (offered - short abandons): a call that rang out, waited,
  overflowed or was abandoned counts against.
Agents (R19): occupancy = busy / (busy + ready), busy = ringing + on_call + wrap_up seconds.
Patience (for Erlang A staffing) = the waits of answered and abandoned calls / abandoned calls
(the exponential patience's estimate with answered calls as censored).
A rate whose denominator is 0 is None (shown as "-"), never 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

DECIDED = ("answered", "no_answer", "busy", "rejected")  # an offer's outcomes that count (R1)
BUSY_STATES = ("ringing", "on_call", "wrap_up")


@dataclass(frozen=True)
class OfferFacts:
    outcome: str | None
    ring_seconds: float | None


# The end reasons of a caller who hung up while an agent's phone rang or they were queued.
ABANDONED = ("abandoned_in_queue", "fallback_abandoned")


@dataclass(frozen=True)
class CallFacts:
    started_at: datetime
    enqueued_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    queue: str | None = None
    wrap_up_seconds: float = 0.0
    first_offer: OfferFacts | None = None  # the first phone rung for the call


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
    offers_decided: int = 0
    first_offers: int = 0
    first_offers_in_limit: int = 0
    answered_in_ring_limit: int = 0
    three_ring_first_offer: float | None = None
    three_ring_caller: float | None = None
    aht_seconds: float | None = None
    average_wrap_up_seconds: float | None = None


def ratio(part: float, whole: float) -> float | None:
    return None if whole <= 0 else part / whole


def occupancy(seconds_by_state: Mapping[str, float]) -> float | None:
    """Busy / (busy + ready) (R19)."""
    busy = sum(seconds_by_state.get(s, 0.0) for s in BUSY_STATES)
    return ratio(busy, busy + seconds_by_state.get("ready", 0.0))


def offer_in_limit(outcome: str | None, ring_seconds: float | None, limit: float) -> bool:
    return outcome == "answered" and ring_seconds is not None and ring_seconds <= limit


def _seconds(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


@dataclass
class Totals:
    """The sums every figure is made of. They add up across half-hours, queues and call types,
    so the pre-computed rollups and the raw calls give the same figures (`finish`)."""

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
    offers_decided: int = 0
    first_offers: int = 0
    first_offers_in_limit: int = 0
    answered_in_ring_limit: int = 0
    wrap_sum: float = 0.0
    abandon_wait_sum: float = 0.0

    def add(self, other: "Totals") -> "Totals":
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def aht_seconds(self) -> float | None:
        return (self.talk_sum + self.wrap_sum) / self.talked if self.talked else None

    def patience_seconds(self) -> float | None:
        return ((self.wait_sum + self.abandon_wait_sum) / self.abandoned if self.abandoned
                else None)

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
            three_ring_compliance=ratio(self.offers_answered_in_limit, self.offers_decided),
            offers_decided=self.offers_decided, first_offers=self.first_offers,
            first_offers_in_limit=self.first_offers_in_limit,
            answered_in_ring_limit=self.answered_in_ring_limit,
            three_ring_first_offer=ratio(self.first_offers_in_limit, self.first_offers),
            three_ring_caller=ratio(self.answered_in_ring_limit,
                                    self.offered - self.short_abandoned),
            aht_seconds=self.aht_seconds(),
            average_wrap_up_seconds=self.wrap_sum / self.talked if self.talked else None)


def summarise(calls: Iterable[CallFacts], offers: Iterable[OfferFacts], *,
              threshold_seconds: float, short_abandon_seconds: float,
              ring_limit_seconds: float,
              queue_thresholds: Mapping[str, float] | None = None) -> Summary:
    return totals_of(calls, offers, threshold_seconds=threshold_seconds,
                     short_abandon_seconds=short_abandon_seconds,
                     ring_limit_seconds=ring_limit_seconds,
                     queue_thresholds=queue_thresholds).finish()


def totals_of(calls: Iterable[CallFacts], offers: Iterable[OfferFacts], *,
              threshold_seconds: float, short_abandon_seconds: float,
              ring_limit_seconds: float,
              queue_thresholds: Mapping[str, float] | None = None) -> Totals:
    """The sums of these calls and offers (`offers`: every offer of these calls)."""
    thresholds = queue_thresholds or {}
    t = Totals()
    for c in calls:
        t.calls += 1
        if c.end_reason == "abandoned_in_ivr":
            t.abandoned_in_ivr += 1
        if c.enqueued_at is None:
            continue
        t.offered += 1
        first = c.first_offer
        if first is not None and first.outcome in DECIDED:
            t.first_offers += 1
            if offer_in_limit(first.outcome, first.ring_seconds, ring_limit_seconds):
                t.first_offers_in_limit += 1
        if c.connected_at is not None:
            t.answered += 1
            wait = _seconds(c.enqueued_at, c.connected_at)
            t.wait_sum += wait
            if wait <= thresholds.get(c.queue or "", threshold_seconds):
                t.answered_in_threshold += 1
            if wait <= ring_limit_seconds:
                t.answered_in_ring_limit += 1
            if c.ended_at is not None:
                t.talked += 1
                t.talk_sum += _seconds(c.connected_at, c.ended_at)
                t.wrap_sum += c.wrap_up_seconds
        elif c.end_reason in ABANDONED:
            t.abandoned += 1
            if c.ended_at is not None:
                waited = _seconds(c.enqueued_at, c.ended_at)
                t.abandon_wait_sum += waited
                if waited < short_abandon_seconds:
                    t.short_abandoned += 1
    for o in offers:
        if o.outcome in DECIDED:
            t.offers_decided += 1
        if o.outcome == "answered":
            t.offers_answered += 1
            if offer_in_limit(o.outcome, o.ring_seconds, ring_limit_seconds):
                t.offers_answered_in_limit += 1
        elif o.outcome == "no_answer":
            t.offers_missed += 1
    return t
