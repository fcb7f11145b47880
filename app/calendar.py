"""The centre's working-day calendar as pure arithmetic, in its time zone (no I/O, no domain).

Working days are those not in the weekend (Saturday and Sunday by default) nor a holiday. A
period starting on a day off is counted from the start of the next working day. Settings build
one `Calendar` (HOTLINE_TIMEZONE, _WEEKEND_DAYS, _HOLIDAYS); R15's complaint deadlines
(`app.complaints.deadlines`) count on it. The local day's shifts (HOTLINE_SHIFTS, R19's
busy/idle reports) are parsed here too (`parse_shifts`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKEND = frozenset({5, 6})  # date.weekday(): Saturday, Sunday


@dataclass(frozen=True)
class Calendar:
    """The centre's working-day calendar (settings HOTLINE_TIMEZONE, _WEEKEND_DAYS, _HOLIDAYS)."""

    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()
    weekend: frozenset[int] = field(default=WEEKEND)

    def is_working_day(self, day: date) -> bool:
        return is_working_day(day, self.holidays, self.weekend)


def is_working_day(day: date, holidays: Collection[date] = (),
                   weekend: Collection[int] = WEEKEND) -> bool:
    return day.weekday() not in weekend and day not in holidays


def aware(at: datetime) -> datetime:
    """`at` itself; ValueError if it has no time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the time must be time-zone aware")
    return at


def _next_working_start(local: datetime, zone: ZoneInfo, holidays: Collection[date],
                        weekend: Collection[int]) -> datetime:
    """`local` itself on a working day, else 00:00 of the next working day."""
    if is_working_day(local.date(), holidays, weekend):
        return local
    if len(set(weekend)) >= 7:
        raise ValueError("the calendar has no working days")
    day = local.date()
    while not is_working_day(day, holidays, weekend):
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone)


def add_working_days(start: datetime, days: int, zone: ZoneInfo,
                     holidays: Collection[date] = (),
                     weekend: Collection[int] = WEEKEND) -> datetime:
    """`days` working days after `start` (aware), keeping the local time of day."""
    aware(start)
    local = _next_working_start(start.astimezone(zone), zone, holidays, weekend)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays, weekend):
            left -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), zone)


def add_working_time(start: datetime, span: timedelta, calendar: Calendar) -> datetime:
    """`span` of elapsed time after `start`, counting only hours on working days."""
    aware(start)
    zone, holidays, weekend = calendar.zone, calendar.holidays, calendar.weekend
    at = _next_working_start(start.astimezone(zone), zone, holidays, weekend)
    left = span
    while True:
        midnight = datetime.combine(at.date() + timedelta(days=1), time(0), zone)
        today = midnight.astimezone(UTC) - at.astimezone(UTC)
        if left <= today:
            return (at.astimezone(UTC) + left).astimezone(zone)
        left -= today
        at = _next_working_start(midnight, zone, holidays, weekend)


def parse_shifts(text: str) -> list[tuple[str, int, int]]:
    """`night=0-8,day=8-16,evening=16-24` -> [(name, first hour, end hour)]. Hours are whole
    (0-24); a shift may pass midnight (`late=22-6`); shifts may not overlap."""
    shifts: list[tuple[str, int, int]] = []
    covered: set[int] = set()
    for part in text.split(","):
        name, _, span = part.partition("=")
        first, _, end = span.partition("-")
        a, b = int(first), int(end)
        if not (0 <= a <= 23 and 1 <= b <= 24) or a == b % 24:
            raise ValueError(f"shift {name!r}: hours must be 0-23 and 1-24 and differ")
        hours = set(range(a, b)) if a < b else set(range(a, 24)) | set(range(0, b))
        if hours & covered or name in {s[0] for s in shifts}:
            raise ValueError(f"shift {name!r} overlaps another or repeats a name")
        covered |= hours
        shifts.append((name, a, b))
    return shifts
