"""The scoring form's arithmetic and the review rules (R16), with the clock passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.qa import scoring
from app.qa.models import CRITERIA
from tests.support.clock import FakeClock

SAMPLED = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)


def marks(greeting=4, attitude=4, tone=4, summary=4, unexpected=4):
    return dict(greeting=greeting, attitude=attitude, tone=tone, summary=summary,
                unexpected=unexpected)


def test_overall_is_the_mean_of_the_five_criteria():
    assert scoring.overall(marks(5, 4, 3, 2, 1)) == 3.0
    assert scoring.overall(marks(5, 5, 5, 5, 4)) == 4.8


def test_a_mark_of_one_or_two_needs_a_comment():
    assert scoring.needs_comment(marks(), "") == []
    assert scoring.needs_comment(marks(tone=2, unexpected=1), "  ") == ["tone", "unexpected"]
    assert scoring.needs_comment(marks(tone=2), "talked over the caller") == []
    assert scoring.needs_comment(marks(tone=3), None) == []


def test_a_sample_is_pending_until_its_deadline_then_overdue_and_scored_once_scored():
    clock = FakeClock(SAMPLED)
    due = scoring.review_due(SAMPLED, review_days=30)
    assert due == SAMPLED + timedelta(days=30)
    assert scoring.review_state(scored_at=None, review_due_at=due, now=clock.now()) == "pending"
    clock.current = due - timedelta(seconds=1)
    assert scoring.review_state(scored_at=None, review_due_at=due, now=clock.now()) == "pending"
    clock.current = due
    assert scoring.review_state(scored_at=None, review_due_at=due, now=clock.now()) == "overdue"
    clock.advance(86400)
    assert scoring.review_state(scored_at=clock.now(), review_due_at=due,
                                now=clock.now()) == "scored"


def test_monthly_figures_average_over_scored_samples_and_name_the_lowest_criterion():
    figs = scoring.figures([marks(5, 4, 3, 4, 2), marks(3, 4, 5, 4, 2), None,
                            {c: None for c in CRITERIA}])
    out = figs.as_dict()
    assert (out["sampled"], out["scored"]) == (4, 2)
    assert [out[f"avg_{c}"] for c in CRITERIA] == [4.0, 4.0, 4.0, 4.0, 2.0]
    assert out["overall"] == 3.6  # (18 + 18) / 10
    assert out["lowest"] == "unexpected"


def test_the_overall_weighs_every_sample_the_same():
    # one agent with one sample of 5s, another with three samples of 1s: (5 + 3 * 1) / 4 = 2
    figs = scoring.figures([marks(5, 5, 5, 5, 5)] + [marks(1, 1, 1, 1, 1)] * 3)
    assert figs.overall() == 2.0


def test_ties_for_lowest_go_to_the_first_criterion_of_the_form():
    assert scoring.figures([marks(3, 4, 3, 4, 3)]).lowest() == "greeting"
    assert scoring.figures([marks(5, 5, 5, 5, 5)]).lowest() == "greeting"


def test_nothing_scored_gives_none_not_zero():
    out = scoring.figures([None, None]).as_dict()
    assert (out["sampled"], out["scored"], out["overall"], out["lowest"]) == (2, 0, None, None)
    assert all(out[f"avg_{c}"] is None for c in CRITERIA)
    assert scoring.figures([]).as_dict()["sampled"] == 0


@pytest.mark.parametrize("digits", [1, 2])
def test_figures_are_rounded_only_when_shown(digits):
    figs = scoring.figures([marks(5, 4, 4, 4, 4), marks(4, 4, 4, 4, 4), marks(4, 4, 4, 4, 4)])
    assert figs.averages()["greeting"] == pytest.approx(13 / 3)
    assert figs.as_dict(digits)["avg_greeting"] == round(13 / 3, digits)
