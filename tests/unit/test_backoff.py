"""Reconnect backoff: grows exponentially to a cap, jitters, and starts over after success."""

from __future__ import annotations

import random

import pytest

from app.ari.backoff import Backoff


def test_delays_grow_exponentially_up_to_the_maximum():
    backoff = Backoff(minimum=0.5, maximum=8, factor=2, jitter=0)
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]


def test_reset_after_a_successful_connection_starts_from_the_minimum_again():
    backoff = Backoff(minimum=0.5, maximum=8, factor=2, jitter=0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() == 0.5


def test_jitter_stays_within_its_band_and_inside_the_bounds():
    backoff = Backoff(minimum=1, maximum=10, factor=2, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(50)]
    assert all(1 <= d <= 10 for d in delays)
    assert 0.8 * 4 <= delays[2] <= 1.2 * 4
    assert len(set(delays[5:])) > 1  # jittered at the cap, so reconnects do not stampede


@pytest.mark.parametrize("kwargs", [dict(minimum=0), dict(minimum=5, maximum=1),
                                    dict(factor=0.5), dict(jitter=1.5)])
def test_nonsense_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)
