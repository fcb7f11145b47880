"""The survey's decisions, pure: which key is a score, what happens after a wrong key or
silence (the question once more, then thanks), and which instants a report week covers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SCORES = "12345"
MAX_ASKS = 2  # R17's "press 1 to 5": a wrong key or silence repeats the question once, no more
QUESTION = "survey_question"      # prompts/system.yaml
INVALID = "survey_invalid"
THANKS_RATED = "survey_thanks"
THANKS = "thanks"


@dataclass(frozen=True)
class SurveyState:
    """How often the question was asked; `token` names the current prompt and its timer."""

    asked: int = 1
    token: int = 1


@dataclass(frozen=True)
class Ask:
    """Play the question (after "that was not a valid key" when `again`)."""

    prompts: tuple[str, ...]
    token: int


@dataclass(frozen=True)
class Finish:
    """The survey is over: the score (None: no valid answer), and the closing words."""

    score: int | None
    prompts: tuple[str, ...]


Action = Ask | Finish


def start() -> tuple[SurveyState, Ask]:
    state = SurveyState()
    return state, Ask((QUESTION,), state.token)


def on_key(state: SurveyState, digit: str) -> tuple[SurveyState, Action]:
    """A key: 1-5 is the score; anything else counts as a wrong answer."""
    if len(digit) == 1 and digit in SCORES:
        return state, Finish(int(digit), (THANKS_RATED,))
    return _again(state)


def on_silence(state: SurveyState) -> tuple[SurveyState, Action]:
    """No key within the time allowed after the question."""
    return _again(state)


def _again(state: SurveyState) -> tuple[SurveyState, Action]:
    if state.asked >= MAX_ASKS:
        return state, Finish(None, (THANKS,))
    state = SurveyState(asked=state.asked + 1, token=state.token + 1)
    return state, Ask((INVALID, QUESTION), state.token)


# -- report weeks (R17: the summary of Monday-Sunday is ready by the next Monday, 18:00) -----
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
READY_HOUR = 18


@dataclass(frozen=True)
class WeekRange:
    week: str           # ISO week, 2026-W47
    start: datetime     # Monday 00:00 local, as UTC
    end: datetime       # the next Monday 00:00 local, as UTC (exclusive)
    ready_by: datetime  # that Monday 18:00 local, as UTC


def week_range(week: str, zone: ZoneInfo) -> WeekRange:
    """The instants of an ISO week (Monday-Sunday) in the centre's time zone."""
    match = WEEK.match(week)
    if match is None:
        raise ValueError(f"a week is written 2026-W47, not {week!r}")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"no week {week!r}") from exc
    next_monday = monday + timedelta(days=7)
    start = datetime.combine(monday, time(0), zone)
    end = datetime.combine(next_monday, time(0), zone)
    ready = datetime.combine(next_monday, time(READY_HOUR), zone)
    return WeekRange(week, start.astimezone(UTC), end.astimezone(UTC), ready.astimezone(UTC))


def week_of(at: datetime, zone: ZoneInfo) -> str:
    year, number, _ = at.astimezone(zone).isocalendar()
    return f"{year}-W{number:02d}"


def last_week(now: datetime, zone: ZoneInfo) -> str:
    """The week whose summary is due now: the previous Monday-Sunday."""
    return week_of(now.astimezone(zone) - timedelta(days=7), zone)


def due_week(now: datetime, zone: ZoneInfo, *, kept: bool) -> str | None:
    """The week whose summary should be made now: last week, once it is over (it always is on
    a Monday), unless it is kept already. Made from Monday 00:00, it is ready well before the
    18:00 it is due by."""
    return None if kept else last_week(now, zone)
