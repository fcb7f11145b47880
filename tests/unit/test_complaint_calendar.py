"""R15's call-back deadlines on the working-day calendar and which deadlines are overdue:
72 hours after the resolution counted on working days only, never later than 7 days; weekends,
holidays, a Friday evening, a call-back window crossing a holiday; the calendar settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from app.calendar import Calendar, add_working_time
from app.complaints.deadlines import (callback_deadline, callback_due, dispatch_due, handling_due,
                                      overdue, pending)
from app.config import Settings

SH = ZoneInfo("Asia/Shanghai")
CAL = Calendar(zone=SH)
GOLDEN_WEEK = frozenset(date(2026, 10, d) for d in range(1, 8))  # Thursday 1 .. Wednesday 7


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_a_call_back_on_a_tuesday_is_due_friday_same_time():  # R15: 72 hours
    assert callback_due(sh(2026, 11, 24, 10, 0), CAL) == sh(2026, 11, 27, 10, 0)


def test_a_resolution_on_friday_evening_skips_the_weekend():  # R15
    # Friday 20:30: 3.5 h on Friday, Monday and Tuesday, then 20.5 h on Wednesday
    assert callback_due(sh(2026, 11, 27, 20, 30), CAL) == sh(2026, 12, 2, 20, 30)
    assert callback_deadline(sh(2026, 11, 27, 20, 30)) == sh(2026, 12, 4, 20, 30)


def test_a_complaint_received_on_friday_evening_has_all_its_deadlines():  # R15
    received = sh(2026, 11, 27, 20, 30)
    assert dispatch_due(received) == sh(2026, 11, 27, 21, 30)  # clock time: 60 minutes
    assert handling_due(received, SH) == sh(2026, 12, 4, 20, 30)


def test_a_resolution_at_the_weekend_counts_from_monday_midnight():  # R15
    assert callback_due(sh(2026, 11, 28, 15, 0), CAL) == sh(2026, 12, 3, 0, 0)


def test_a_call_back_window_crossing_a_holiday_is_a_day_longer():  # R15
    holiday = Calendar(zone=SH, holidays=frozenset({date(2026, 11, 26)}))  # a Thursday
    # Tuesday 10:00: 14 h Tuesday, 24 h Wednesday, Thursday off, 24 h Friday, weekend, 10 h Monday
    assert callback_due(sh(2026, 11, 24, 10, 0), holiday) == sh(2026, 11, 30, 10, 0)


def test_a_long_holiday_cannot_push_the_call_back_past_seven_days():  # R15: "at the latest"
    golden = Calendar(zone=SH, holidays=GOLDEN_WEEK)
    resolved = sh(2026, 9, 30, 10, 0)
    assert add_working_time(resolved, timedelta(hours=72), golden) == sh(2026, 10, 12, 10, 0)
    assert callback_due(resolved, golden) == callback_deadline(resolved) == sh(2026, 10, 7, 10, 0)


def test_another_weekend_is_respected():
    friday_saturday = Calendar(zone=SH, weekend=frozenset({4, 5}))
    # Thursday 12:00: 12 h Thursday, Friday and Saturday off, 24 h Sunday and Monday, 12 h Tue
    assert callback_due(sh(2026, 11, 26, 12, 0), friday_saturday) == sh(2026, 12, 1, 12, 0)


def test_working_time_is_elapsed_time_across_a_clock_change():
    berlin = Calendar(zone=ZoneInfo("Europe/Berlin"))
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=berlin.zone)  # summer time starts on Sunday
    due = callback_due(friday, berlin)
    assert due == datetime(2026, 4, 1, 12, 0, tzinfo=berlin.zone)
    # the 7-day limit is 168 elapsed hours: 13:00 local after the clocks went forward
    assert callback_deadline(friday) == datetime(2026, 4, 3, 13, 0, tzinfo=berlin.zone)
    assert (callback_deadline(friday).astimezone(UTC) - friday.astimezone(UTC)) == timedelta(
        days=7)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        callback_due(datetime(2026, 11, 24, 10, 0), CAL)


@dataclass
class Case:
    status: str
    dispatch_due_at: datetime | None = sh(2026, 11, 23, 11, 0)
    handling_due_at: datetime | None = sh(2026, 11, 30, 10, 0)
    callback_due_at: datetime | None = None
    callback_deadline_at: datetime | None = None


@pytest.mark.parametrize(("case", "now", "expected"), [
    (Case("received"), sh(2026, 11, 23, 10, 59), []),
    (Case("received"), sh(2026, 11, 23, 11, 1), ["dispatch"]),
    (Case("received"), sh(2026, 11, 30, 10, 1), ["dispatch", "handling"]),
    (Case("dispatched"), sh(2026, 11, 30, 10, 1), ["handling"]),
    (Case("in_progress"), sh(2026, 11, 27, 10, 0), []),
    (Case("reopened"), sh(2026, 11, 23, 12, 0), ["dispatch"]),
    (Case("resolved", callback_due_at=sh(2026, 11, 27, 10, 0),
          callback_deadline_at=sh(2026, 12, 1, 10, 0)), sh(2026, 11, 27, 10, 1), ["callback"]),
    (Case("resolved", callback_due_at=sh(2026, 11, 27, 10, 0),
          callback_deadline_at=sh(2026, 12, 1, 10, 0)), sh(2026, 12, 1, 10, 1),
     ["callback", "callback_limit"]),
    (Case("called_back"), sh(2027, 1, 1), []),
    (Case("closed"), sh(2027, 1, 1), []),
    (Case("closed_unreachable"), sh(2027, 1, 1), []),
], ids=lambda v: v.status if isinstance(v, Case) else None)
def test_which_deadlines_are_overdue(case, now, expected):  # R15
    assert overdue(case, now) == expected


def test_pending_deadlines_show_their_times_even_when_not_overdue():
    [dispatch, handling] = pending(Case("received"), sh(2026, 11, 23, 10, 0))
    assert (dispatch.name, dispatch.due_at, dispatch.overdue) == (
        "dispatch", sh(2026, 11, 23, 11, 0), False)
    assert (handling.name, handling.overdue) == ("handling", False)


GOOD = dict(admin_token="a" * 20, ari_password="b" * 20)


def test_the_calendar_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("HOTLINE_HOLIDAYS", "2026-10-01, 2026-10-02")
    monkeypatch.setenv("HOTLINE_WEEKEND_DAYS", "fri,sat")
    monkeypatch.setenv("HOTLINE_TIMEZONE", "Asia/Dubai")
    s = Settings(**GOOD)
    assert s.calendar == Calendar(zone=ZoneInfo("Asia/Dubai"),
                                  holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
                                  weekend=frozenset({4, 5}))


def test_the_default_calendar_is_saturday_and_sunday_without_holidays():
    assert Settings(**GOOD).calendar == Calendar(zone=SH)


def test_json_lists_are_accepted_too(monkeypatch):
    monkeypatch.setenv("HOTLINE_HOLIDAYS", '["2027-01-01"]')
    assert Settings(**GOOD).holidays == (date(2027, 1, 1),)


@pytest.mark.parametrize(("name", "value"), [
    ("HOTLINE_HOLIDAYS", "2026-13-01"), ("HOTLINE_HOLIDAYS", "next tuesday"),
    ("HOTLINE_WEEKEND_DAYS", "caturday"),
    ("HOTLINE_WEEKEND_DAYS", "mon,tue,wed,thu,fri,sat,sun"),
])
def test_a_bad_calendar_is_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(**GOOD)


@pytest.mark.parametrize(("attempts", "ok"), [(2, False), (3, True), (5, True), (6, False)])
def test_the_call_back_attempts_before_closing_unreachable_are_three_to_five(attempts, ok):  # R15
    if ok:
        assert Settings(**GOOD, callback_max_attempts=attempts).callback_max_attempts == attempts
    else:
        with pytest.raises(ValidationError):
            Settings(**GOOD, callback_max_attempts=attempts)
