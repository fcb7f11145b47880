"""R15 deadlines as pure calendar arithmetic, in the centre's time zone.

- dispatch: a complaint is dispatched to its department within 60 minutes of receipt
  (clock time: the hotline is staffed around the clock);
- handling: the customer is promised handling within 5 working days;
- call-back: the customer is called back within 72 hours of the resolution, counted on working
  days only (a day off adds nothing to the 72 hours), and never later than 7 calendar days
  (168 hours) after the resolution: that limit caps the target when days off stretch it;
- after `CALLBACK_MAX_ATTEMPTS` (setting: 3-5) failed call-back attempts the case may close as
  unreachable.

Working days come from the centre's calendar (`app.calendar`, pure, shared with the settings).
A period starting on a day off is counted from the start of the next working day: received on a
Saturday, a complaint has the five full days Monday to Friday and is due at 00:00 on the Monday
after them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from app.calendar import WEEKEND, Calendar, add_working_days, add_working_time
from app.calendar import aware as _aware

DISPATCH_WITHIN = timedelta(minutes=60)
HANDLING_WORKING_DAYS = 5
CALLBACK_WORKING_HOURS = timedelta(hours=72)
CALLBACK_LIMIT = timedelta(days=7)
CALLBACK_MAX_ATTEMPTS = 3


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
