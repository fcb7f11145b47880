"""R15 deadlines as pure calendar arithmetic, in the centre's time zone.

- dispatch: a complaint is dispatched to its department within 60 minutes of receipt;
- handling: the customer is promised handling within 5 working days.
Working days are Monday to Friday minus the given holidays. A complaint received on a day off is
counted from the start of the next working day: received on a Saturday, it has the five full
days Monday to Friday and is due at 00:00 on the Monday after them. The complaint
workflow (call-back windows, reopened cases) builds on `add_working_days`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DISPATCH_WITHIN = timedelta(minutes=60)
HANDLING_WORKING_DAYS = 5


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the time must be time-zone aware")
    return at


def add_working_days(start: datetime, days: int, zone: ZoneInfo,
                     holidays: Collection[date] = ()) -> datetime:
    """`days` working days after `start` (aware), keeping the local time of day."""
    _aware(start)
    local = start.astimezone(zone)
    if not is_working_day(local.date(), holidays):
        day = local.date()
        while not is_working_day(day, holidays):
            day += timedelta(days=1)
        local = datetime.combine(day, time(0), zone)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            left -= 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), zone)


def dispatch_due(received_at: datetime) -> datetime:
    return _aware(received_at) + DISPATCH_WITHIN


def handling_due(received_at: datetime, zone: ZoneInfo, holidays: Collection[date] = ()) -> datetime:
    return add_working_days(received_at, HANDLING_WORKING_DAYS, zone, holidays)
