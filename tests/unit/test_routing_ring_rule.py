"""The three-ring rule (R1): ring limit, counting rings, deadlines, apologies, offer records."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from routing.ring_rule import (
    OfferOutcome, OfferRecord, apology_due, deadline, ring_limit_seconds, rings,
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(("max_rings", "cycle", "expected"), [
    (3, 5, 15), (3, 6, 18), (3, 1, 3), (1, 5, 5), (4, 2.5, 10.0),
])
def test_the_ring_limit_is_rings_times_cadence(max_rings, cycle, expected):
    assert ring_limit_seconds(max_rings, cycle) == expected


@pytest.mark.parametrize(("max_rings", "cycle"), [(0, 5), (-1, 5), (3, 0), (3, -6)])
def test_a_nonsense_ring_limit_is_refused(max_rings, cycle):
    with pytest.raises(ValueError):
        ring_limit_seconds(max_rings, cycle)


@pytest.mark.parametrize(("ring_seconds", "cycle", "expected"), [
    (0, 5, 0),
    (0.0, 6, 0),
    (0.001, 5, 1),
    (4.999, 5, 1),
    (5.0, 5, 1),           # exactly on a boundary: still the first ring
    (5.000001, 5, 2),      # one microsecond into the next ring
    (10.0, 5, 2),
    (10.001, 5, 3),
    (15.0, 5, 3),
    (15.5, 5, 4),
    (6.0, 6, 1),           # North American cadence
    (12.0, 6, 2),
    (12.01, 6, 3),
    (18.0, 6, 3),
    (18.2, 6, 4),
    (3.3, 1.1, 3),         # float noise (3.0000000000000004) is not an extra ring
    (0.3, 0.1, 3),
])
def test_rings_count_started_cycles(ring_seconds, cycle, expected):
    assert rings(ring_seconds, cycle) == expected


@pytest.mark.parametrize(("ring_seconds", "cycle"), [(-0.1, 5), (1, 0), (1, -5)])
def test_rings_refuses_negative_time_and_nonpositive_cadence(ring_seconds, cycle):
    with pytest.raises(ValueError):
        rings(ring_seconds, cycle)


@pytest.mark.parametrize(("limit", "expected"), [
    (15, at(15)), (18, at(18)), (0, T0), (3.5, at(3.5))])
def test_the_deadline_is_the_limit_after_ringing_started(limit, expected):
    assert deadline(T0, limit) == expected


def test_a_negative_deadline_is_refused():
    with pytest.raises(ValueError):
        deadline(T0, -1)


@pytest.mark.parametrize(("waited", "limit", "expected"), [
    (0, 15, False),
    (14.999, 15, False),
    (15, 15, False),       # exactly the limit is on time
    (15.001, 15, True),
    (40, 15, True),
    (18, 18, False),
    (18.5, 18, True),
])
def test_a_caller_who_waited_past_the_ring_limit_gets_an_apology(waited, limit, expected):
    assert apology_due(waited, limit) is expected


# -- offer records ----------------------------------------------------------------------------
@pytest.mark.parametrize(("record", "ring_seconds", "rings_at_5", "within_15"), [
    # answered on the first ring
    (OfferRecord(T0, at(0.2), at(3.2), None, OfferOutcome.answered), 3.0, 1, True),
    # answered right at the end of the third ring
    (OfferRecord(T0, at(1), at(16), at(100), OfferOutcome.answered), 15.0, 3, True),
    # answered during a fourth ring: late
    (OfferRecord(T0, at(1), at(16.5), at(100), OfferOutcome.answered), 15.5, 4, False),
    # never answered: given up at the limit
    (OfferRecord(T0, at(1), None, at(16), OfferOutcome.no_answer), 15.0, 3, False),
    # busy: never rang, counted from the offer
    (OfferRecord(T0, None, None, at(0.3), OfferOutcome.busy), 0.3, 1, True),
    (OfferRecord(T0, None, None, T0, OfferOutcome.busy), 0.0, 0, True),
    # rejected on the second ring
    (OfferRecord(T0, at(1), None, at(7), OfferOutcome.rejected), 6.0, 2, True),
    # caller hung up while ringing
    (OfferRecord(T0, at(1), None, at(9), OfferOutcome.cancelled), 8.0, 2, True),
    # timestamps out of order count as no ringing
    (OfferRecord(at(2), at(2), at(1), None, OfferOutcome.answered), 0.0, 0, True),
])
def test_an_offer_record_knows_how_long_and_how_many_rings_it_rang(record, ring_seconds,
                                                                   rings_at_5, within_15):
    assert record.ring_seconds == pytest.approx(ring_seconds)
    assert record.rings(5) == rings_at_5
    assert record.within_limit(15) is within_15


def test_the_same_offer_counts_fewer_rings_at_the_north_american_cadence():
    record = OfferRecord(T0, T0, None, at(15), OfferOutcome.cancelled)
    assert (record.rings(5), record.rings(6)) == (3, 3)
    record = OfferRecord(T0, T0, None, at(12), OfferOutcome.cancelled)
    assert (record.rings(5), record.rings(6)) == (3, 2)


@pytest.mark.parametrize(("answered_at", "ended_at", "outcome"), [
    (None, at(5), OfferOutcome.answered),          # answered needs answered_at
    (at(3), at(5), OfferOutcome.no_answer),        # unanswered cannot have answered_at
    (None, None, OfferOutcome.busy),               # unanswered needs ended_at
    (None, None, OfferOutcome.cancelled),
])
def test_an_inconsistent_offer_record_is_refused(answered_at, ended_at, outcome):
    with pytest.raises(ValueError):
        OfferRecord(T0, T0, answered_at, ended_at, outcome)
