"""R10: complaints marked major (or crisis) and escalations go to senior agents only."""

from __future__ import annotations

import pytest

from routing.seniority import LevelNeed, level_needed, stricter
from routing.strategies import Level


@pytest.mark.parametrize("severities", [["major"], ["crisis"], ["general", "major"], ["MAJOR "]])
def test_a_caller_with_an_open_major_or_crisis_complaint_needs_a_senior(severities):
    need = level_needed(severities)
    assert need is not None and need.level is Level.senior
    assert "severity" in need.why


def test_the_worst_open_complaint_is_the_reason_given():
    assert level_needed(["major", "crisis"]) == LevelNeed(
        Level.senior, "open complaint of severity crisis (R10)")


@pytest.mark.parametrize("severities", [[], ["general"], ["general", "general"], [""]])
def test_general_complaints_or_none_let_any_agent_take_the_call(severities):
    assert level_needed(severities) is None


def test_an_escalated_call_needs_a_senior_even_without_a_complaint():
    assert level_needed([], escalated=True) == LevelNeed(Level.senior, "escalated by an agent (R10)")


@pytest.mark.parametrize(("a", "b", "expected"), [
    (None, None, None), (None, Level.senior, Level.senior), (Level.junior, None, Level.junior),
    (Level.intermediate, Level.senior, Level.senior), (Level.senior, Level.junior, Level.senior),
])
def test_the_stricter_minimum_level_wins(a, b, expected):
    assert stricter(a, b) is expected
