"""R15 deadlines as pure calendar arithmetic, in the centre's time zone.

- dispatch: a complaint is dispatched to its department within 60 minutes of receipt
  (clock time: the hotline is staffed around the clock);
- handling: the customer is promised handling within 5 working days;
- call-back: the customer is called back within 72 hours of the resolution, counted on working
  days only (a day off adds nothing to the 72 hours), and never later than 7 calendar days
  (168 hours) after the resolution: that limit caps the target when days off stretch it;
- after `CALLBACK_MAX_ATTEMPTS` (setting: 3-5) failed call-back attempts the case may close as
  unreachable.

Working days are those not in the weekend (Saturday and Sunday by default) nor a holiday. A
period starting on a day off is counted from the start of the next working day: received on a
Saturday, a complaint has the five full days Monday to Friday and is due at 00:00 on the Monday
after them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

DISPATCH_WITHIN = timedelta(minutes=60)
HANDLING_WORKING_DAYS = 5
CALLBACK_WORKING_HOURS = timedelta(hours=72)
CALLBACK_LIMIT = timedelta(days=7)
CALLBACK_MAX_ATTEMPTS = 3
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


def _aware(at: datetime) -> datetime:
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
    _aware(start)
    local = _next_working_start(start.astimezone(zone), zone, holidays, weekend)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays, weekend):
            left -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), zone)


def add_working_time(start: datetime, span: timedelta, calendar: Calendar) -> datetime:
    """`span` of elapsed time after `start`, counting only hours on working days."""
    _aware(start)
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


def dispatch_due(received_at: datetime) -> datetime:
    return _aware(received_at) + DISPATCH_WITHIN


def handling_due(received_at: datetime, zone: ZoneInfo, holidays: Collection[date] = (),
                 weekend: Collection[int] = WEEKEND) -> datetime:
    return add_working_days(received_at, HANDLING_WORKING_DAYS, zone, holidays, weekend)


def callback_deadline(resolved_at: datetime) -> datetime:
    """The hard limit: 7 days (168 hours) after the resolution."""
    return (_aware(resolved_at).astimezone(UTC) + CALLBACK_LIMIT).astimezone(resolved_at.tzinfo)


def callback_due(resolved_at: datetime, calendar: Calendar) -> datetime:
    """72 working hours after the resolution, but never after the 7-day limit."""
    return min(add_working_time(resolved_at, CALLBACK_WORKING_HOURS, calendar),
               callback_deadline(resolved_at))


class HasDeadlines(Protocol):
    status: str
    dispatch_due_at: datetime | None
    handling_due_at: datetime | None
    callback_due_at: datetime | None
    callback_deadline_at: datetime | None


@dataclass(frozen=True)
class Deadline:
    name: str          # dispatch, handling, callback, callback_limit
    due_at: datetime
    overdue: bool


# The deadline a complaint still has to meet in each state (others are met or do not apply).
_PENDING = {
    "received": ("dispatch", "handling"),
    "dispatched": ("handling",),
    "in_progress": ("handling",),
    "reopened": ("dispatch", "handling"),
    "resolved": ("callback", "callback_limit"),
}


def pending(complaint: HasDeadlines, now: datetime) -> list[Deadline]:
    """The deadlines the complaint still has to meet in its state, each with whether it is
    overdue at `now` (past its time)."""
    _aware(now)
    due = {"dispatch": complaint.dispatch_due_at, "handling": complaint.handling_due_at,
           "callback": complaint.callback_due_at, "callback_limit": complaint.callback_deadline_at}
    out = []
    for name in _PENDING.get(str(complaint.status), ()):
        if (at := due[name]) is not None:
            out.append(Deadline(name=name, due_at=at, overdue=now > at))
    return out


def overdue(complaint: HasDeadlines, now: datetime) -> list[str]:
    """Which of the complaint's deadlines are overdue at `now`: dispatch, handling, callback
    (the 72-hour target), callback_limit (the 7-day limit)."""
    return [d.name for d in pending(complaint, now) if d.overdue]
