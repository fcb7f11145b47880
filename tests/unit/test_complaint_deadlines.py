"""R15 deadlines as pure arithmetic: dispatched within 60 minutes, handled within 5 working days,
counted in the centre's time zone; weekends and the given holidays are not working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.calendar import add_working_days, is_working_day
from app.complaints.deadlines import dispatch_due, handling_due

SH = ZoneInfo("Asia/Shanghai")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_a_complaint_received_on_a_friday_evening_is_due_the_next_friday_evening():  # R15
    assert handling_due(sh(2026, 11, 27, 20, 30), SH) == sh(2026, 12, 4, 20, 30)


def test_a_complaint_received_on_a_monday_morning_is_due_the_next_monday_morning():  # R15
    assert handling_due(sh(2026, 11, 23, 9, 15), SH) == sh(2026, 11, 30, 9, 15)


@pytest.mark.parametrize("received", [sh(2026, 11, 28, 0, 0), sh(2026, 11, 28, 10, 0),
                                      sh(2026, 11, 29, 23, 59)])
def test_a_complaint_received_at_the_weekend_gets_five_full_working_days_from_monday(received):
    # R15: counted from Monday 00:00; Mon..Fri are the five days; due at Monday 00:00 after them
    assert handling_due(received, SH) == sh(2026, 12, 7, 0, 0)


def test_a_holiday_in_the_five_days_adds_a_day():  # R15
    wednesday = date(2026, 11, 25)
    assert handling_due(sh(2026, 11, 23, 10, 0), SH, holidays={wednesday}) == sh(2026, 12, 1, 10, 0)


def test_a_complaint_received_on_a_holiday_is_counted_from_the_next_working_day():  # R15
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    assert handling_due(sh(2026, 11, 23, 10, 0), SH, holidays={monday}) == sh(2026, 12, 1, 0, 0)
    assert handling_due(sh(2026, 11, 23, 10, 0), SH,
                        holidays={monday, tuesday}) == sh(2026, 12, 2, 0, 0)


def test_a_long_holiday_week_is_skipped_whole():  # R15: e.g. the National Day week
    golden_week = {date(2026, 10, 1) + timedelta(days=i) for i in range(7)}
    # received Wednesday 30 Sep: Oct 1-7 are off, then Thu 8, Fri 9, Mon 12, Tue 13, Wed 14
    assert handling_due(sh(2026, 9, 30, 16, 0), SH, holidays=golden_week) == sh(2026, 10, 14, 16, 0)


def test_dispatch_is_due_sixty_minutes_after_receipt_even_at_night_or_weekend():  # R15
    assert dispatch_due(sh(2026, 11, 28, 23, 30)) == sh(2026, 11, 29, 0, 30)
    assert dispatch_due(sh(2026, 11, 23, 10, 0)) == sh(2026, 11, 23, 11, 0)


def test_naive_datetimes_are_refused():  # R15: a time without a zone is ambiguous
    naive = datetime(2026, 11, 23, 10, 0)
    with pytest.raises(ValueError, match="aware"):
        handling_due(naive, SH)
    with pytest.raises(ValueError, match="aware"):
        add_working_days(naive, 1, SH)
    with pytest.raises(ValueError, match="aware"):
        dispatch_due(naive)


def test_the_same_instant_in_utc_or_shanghai_time_has_the_same_deadlines():  # R15
    local = sh(2026, 11, 24, 14, 0)
    utc = local.astimezone(UTC)
    assert handling_due(utc, SH) == handling_due(local, SH) == sh(2026, 12, 1, 14, 0)
    assert dispatch_due(utc) == dispatch_due(local)


def test_working_days_are_counted_in_the_centres_zone_not_in_utc():  # R15
    # Friday 17:30 UTC is already Saturday 01:30 in Shanghai: a weekend receipt
    friday_utc = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert handling_due(friday_utc, SH) == sh(2026, 12, 7, 0, 0)
    # Sunday 20:00 UTC is Monday 04:00 in Shanghai: a working-day receipt, due Monday 04:00
    sunday_utc = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert handling_due(sunday_utc, SH) == sh(2026, 12, 7, 4, 0)


def test_the_deadline_is_in_the_centres_zone():
    assert handling_due(datetime(2026, 11, 23, 2, 0, tzinfo=UTC), SH).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 11, 27), True), (date(2026, 11, 28), False), (date(2026, 11, 29), False),
    (date(2026, 11, 30), True)])
def test_weekdays_are_working_days_and_weekends_are_not(day, working):
    assert is_working_day(day) is working
    assert is_working_day(day, holidays={day}) is False


def test_zero_working_days_on_a_working_day_is_the_start_itself():
    assert add_working_days(sh(2026, 11, 23, 9, 0), 0, SH) == sh(2026, 11, 23, 9, 0)
