"""The report figures on known call sets, exactly (R18, R19; definitions in
app/reports/definitions.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.reports.definitions import CallFacts, OfferFacts, summarise, totals_of

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def call(*, queued: float | None = 0, answered: float | None = None, ended: float | None = 60,
         reason: str | None = "completed", **more) -> CallFacts:
    at = lambda s: None if s is None else T0 + timedelta(seconds=s)  # noqa: E731
    return CallFacts(started_at=T0 - timedelta(seconds=20), enqueued_at=at(queued),
                     connected_at=at(answered), ended_at=at(ended), end_reason=reason, **more)


def figures(calls, offers=(), *, threshold=15, short=5, limit=15, queue_thresholds=None):
    return summarise(calls, offers, threshold_seconds=threshold, short_abandon_seconds=short,
                     ring_limit_seconds=limit, queue_thresholds=queue_thresholds)


def test_the_textbook_set():
    calls = [
        call(answered=4),                                  # answered in 4 s
        call(answered=20),                                 # answered late (over 15 s)
        call(answered=None, ended=3, reason="abandoned_in_queue"),    # short abandon
        call(answered=None, ended=40, reason="abandoned_in_queue"),   # real abandon
        call(queued=None, answered=None, ended=10, reason="abandoned_in_ivr"),
        call(answered=None, ended=300, reason="overflow"),  # offered, neither answered nor abandoned
    ]
    s = figures(calls)
    assert (s.calls, s.offered, s.answered, s.abandoned, s.short_abandoned, s.abandoned_in_ivr) == (
        6, 5, 2, 2, 1, 1)
    assert s.abandon_rate == pytest.approx((2 - 1) / (5 - 1))          # 0.25
    assert s.service_level == pytest.approx(1 / (2 + 2 - 1))           # answered in 15 s: 1
    assert s.asa_seconds == pytest.approx((4 + 20) / 2)
    assert s.average_talk_seconds == pytest.approx(((60 - 4) + (60 - 20)) / 2)


def test_an_abandon_exactly_at_the_short_limit_is_not_short():
    s = figures([call(answered=None, ended=5, reason="abandoned_in_queue")])
    assert (s.abandoned, s.short_abandoned) == (1, 0)


def test_an_answer_exactly_at_the_threshold_is_within_the_service_level():
    assert figures([call(answered=15)]).service_level == 1.0


def test_rates_with_nothing_to_divide_by_are_none_not_zero():
    s = figures([call(answered=None, ended=2, reason="abandoned_in_queue")])
    assert s.abandon_rate is None and s.service_level is None and s.asa_seconds is None
    assert figures([]).three_ring_compliance is None


def test_an_abandon_while_an_agent_rings_after_a_missed_offer_counts_once_with_one_miss():
    """A caller re-offered after a missed offer hangs up while the next phone rings."""
    calls = [call(answered=None, ended=25, reason="abandoned_in_queue")]
    offers = [OfferFacts("no_answer", 15.0), OfferFacts("cancelled", 7.0)]
    s = figures(calls, offers)
    assert (s.abandoned, s.offers_missed, s.offers_answered) == (1, 1, 0)
    assert s.offers_decided == 1 and s.three_ring_compliance == 0.0  # the miss counts against


def test_three_ring_compliance_is_offers_answered_in_the_limit_of_all_decided_offers():
    offers = [OfferFacts("answered", 2.0), OfferFacts("answered", 15.0),
              OfferFacts("answered", 15.5), OfferFacts("no_answer", 15.0),
              OfferFacts("busy", 0.0), OfferFacts("cancelled", 4.0)]
    s = figures([], offers)
    assert (s.offers_answered, s.offers_answered_in_limit, s.offers_missed) == (3, 2, 1)
    # decided: the 3 answered, the miss and the busy phone; the cancelled ring is nobody's
    assert s.offers_decided == 5 and s.three_ring_compliance == pytest.approx(2 / 5)


def test_one_missed_offer_makes_three_ring_compliance_fall_below_one():
    """#18: a phone that rang out used to leave the figure at 100 %."""
    s = figures([], [OfferFacts("answered", 1.0), OfferFacts("no_answer", 15.0),
                     OfferFacts("answered", 3.0)])
    assert s.three_ring_compliance == pytest.approx(2 / 3)


def test_three_ring_per_call_by_the_first_offer_and_as_the_caller_feels_it():
    rang_out = OfferFacts("no_answer", 15.0)
    calls = [
        call(answered=3, first_offer=OfferFacts("answered", 3.0)),     # first phone, 3 s
        call(answered=20, first_offer=rang_out),                      # first rang out, 2nd took it
        call(answered=None, ended=9, reason="abandoned_in_queue",
             first_offer=OfferFacts("cancelled", 8.0)),               # hung up while it rang
        call(answered=None, ended=2, reason="abandoned_in_queue"),    # short: left out
        call(answered=None, ended=300, reason="overflow"),            # nobody: counts against
    ]
    s = figures(calls)
    assert (s.first_offers, s.first_offers_in_limit) == (2, 1)
    assert s.three_ring_first_offer == 0.5
    assert s.answered_in_ring_limit == 1
    assert s.three_ring_caller == pytest.approx(1 / (5 - 1))


def test_each_queue_has_its_own_service_level_threshold():
    calls = [call(answered=20, queue="complaints"), call(answered=20, queue="general")]
    s = figures(calls, queue_thresholds={"complaints": 30})
    assert s.answered_in_threshold == 1 and s.service_level == 0.5


def test_aht_is_talk_and_hold_and_wrap_up_per_handled_call():
    calls = [call(answered=0, ended=100, wrap_up_seconds=20),
             call(answered=0, ended=200, wrap_up_seconds=0),
             call(answered=0, ended=None, reason=None, wrap_up_seconds=0)]  # still talking
    s = figures(calls)
    assert s.aht_seconds == pytest.approx((100 + 20 + 200) / 2)
    assert s.average_wrap_up_seconds == pytest.approx(10)
    assert s.average_talk_seconds == pytest.approx(150)


def test_occupancy_is_busy_over_busy_and_ready():
    from app.reports.definitions import occupancy

    assert occupancy({"on_call": 60, "wrap_up": 20, "ringing": 20, "ready": 100,
                      "paused": 500}) == 0.5
    assert occupancy({"paused": 10}) is None


def test_patience_is_the_waits_over_the_abandons():
    t = totals_of([call(answered=10), call(answered=None, ended=30, reason="abandoned_in_queue")],
                  [], threshold_seconds=15, short_abandon_seconds=5, ring_limit_seconds=15)
    assert t.patience_seconds() == pytest.approx(40)


def test_a_transferred_call_counts_once_with_its_first_answer():
    # The call record keeps the first agent's connected_at (first-contact ownership, R12).
    s = figures([call(answered=6, ended=200, reason="completed")],
                [OfferFacts("answered", 3.0), OfferFacts("answered", 4.0)])
    assert (s.offered, s.answered, s.offers_answered) == (1, 1, 2)
    assert s.asa_seconds == 6
