"""R5 business hours: 7x24 by default, adjustable weekly hours and holidays, judged in the node's zone.

Dates used: 2026-11-23 is a Monday, 2026-11-27 a Friday. In America/New_York, DST begins on
2026-03-08 (02:00 EST -> 03:00 EDT) and ends on 2026-11-01 (02:00 EDT -> 01:00 EST).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.hours import is_open, next_opening
from ivr.menu import HoursNode

WORKDAYS = {day: ["08:00-20:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
LUNCH_BREAK = {"mon": ["08:30-12:00", "13:30-17:30"]}
NEW_YORK = "America/New_York"


def hours(weekly: dict[str, list[str]] | None = None, holidays: tuple[str, ...] = (),
          timezone: str | None = None) -> HoursNode:
    zone = {} if timezone is None else {"timezone": timezone}
    return HoursNode(kind="hours", open="main", closed="closed", weekly=weekly,
                     holidays=[date.fromisoformat(d) for d in holidays], **zone)


def at(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, "test times must carry their offset"
    return moment


IS_OPEN_CASES = [
    # (id, node, now, expected)
    ("7x24 by default on a Sunday night", hours(), "2026-11-22T03:00:00+08:00", True),
    ("7x24 by default at the last moment of a day", hours(), "2026-11-22T23:59:59.999999+08:00",
     True),
    ("open at the start minute of a range", hours(WORKDAYS), "2026-11-23T08:00:00+08:00", True),
    ("closed just before the start", hours(WORKDAYS), "2026-11-23T07:59:59+08:00", False),
    ("open in the last second of a range", hours(WORKDAYS), "2026-11-23T19:59:59+08:00", True),
    ("closed at the end minute of a range", hours(WORKDAYS), "2026-11-23T20:00:00+08:00", False),
    ("a weekday missing from weekly is closed", hours(WORKDAYS), "2026-11-28T12:00:00+08:00",
     False),
    ("a holiday closes an otherwise open day", hours(WORKDAYS, ("2026-11-23",)),
     "2026-11-23T12:00:00+08:00", False),
    ("a holiday closes even a 7x24 line", hours(None, ("2026-11-23",)),
     "2026-11-23T12:00:00+08:00", False),
    ("the day after a holiday opens at midnight", hours(None, ("2026-11-23",)),
     "2026-11-24T00:00:00+08:00", True),
    ("a holiday is a date in the node's zone, not in UTC", hours(None, ("2026-11-23",)),
     "2026-11-22T16:30:00+00:00", False),
    ("UTC 00:30 is 08:30 in Shanghai: open", hours(WORKDAYS), "2026-11-23T00:30:00+00:00", True),
    ("UTC 23:59 is 07:59 next day in Shanghai: closed", hours(WORKDAYS),
     "2026-11-22T23:59:00+00:00", False),
    ("UTC 12:30 is 20:30 in Shanghai: closed", hours(WORKDAYS), "2026-11-23T12:30:00+00:00",
     False),
    ("24:00 keeps the line open to the last moment of the day", hours({"sat": ["20:00-24:00"]}),
     "2026-11-28T23:59:59.999999+08:00", True),
    ("24:00 does not spill into the next day", hours({"sat": ["20:00-24:00"]}),
     "2026-11-29T00:00:00+08:00", False),
    ("hours across midnight: the next day's range takes over",
     hours({"fri": ["22:00-24:00"], "sat": ["00:00-02:00"]}), "2026-11-28T01:59:00+08:00", True),
    ("lunch break: open just before it", hours(LUNCH_BREAK), "2026-11-23T11:59:00+08:00", True),
    ("lunch break: closed at its start", hours(LUNCH_BREAK), "2026-11-23T12:00:00+08:00", False),
    ("lunch break: closed just before the afternoon", hours(LUNCH_BREAK),
     "2026-11-23T13:29:59+08:00", False),
    ("lunch break: open again in the afternoon", hours(LUNCH_BREAK), "2026-11-23T13:30:00+08:00",
     True),
    ("lunch break: closed after the afternoon range", hours(LUNCH_BREAK),
     "2026-11-23T17:30:00+08:00", False),
    ("DST begins: 12:00 UTC is 08:00 EDT, open",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-03-08T12:00:00+00:00", True),
    ("DST begins: 11:59 UTC is 07:59 EDT, closed",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-03-08T11:59:00+00:00", False),
    ("DST begins: 00:00 UTC next day is 20:00 EDT, closed",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-03-09T00:00:00+00:00", False),
    ("DST ends: 13:00 UTC is 08:00 EST, open",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-11-01T13:00:00+00:00", True),
    ("DST ends: 12:59 UTC is 07:59 EST, closed",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-11-01T12:59:00+00:00", False),
    ("DST ends: the repeated hour is open the first time round",
     hours({"sun": ["01:00-01:30"]}, timezone=NEW_YORK), "2026-11-01T05:15:00+00:00", True),
    ("DST ends: the repeated hour is open the second time round",
     hours({"sun": ["01:00-01:30"]}, timezone=NEW_YORK), "2026-11-01T06:15:00+00:00", True),
]


@pytest.mark.parametrize(("node", "now", "expected"), [c[1:] for c in IS_OPEN_CASES],
                         ids=[c[0] for c in IS_OPEN_CASES])
def test_is_open_judges_the_wall_clock_in_the_node_zone(node: HoursNode, now: str,
                                                         expected: bool) -> None:
    assert is_open(node, at(now)) is expected


NEXT_OPENING_CASES = [
    # (id, node, now, expected opening as ISO text in the node's zone, or None)
    ("open now: now itself", hours(WORKDAYS), "2026-11-23T10:00:00+08:00",
     "2026-11-23T10:00:00+08:00"),
    ("open now, asked in UTC: now itself, in the node's zone", hours(WORKDAYS),
     "2026-11-23T02:00:00+00:00", "2026-11-23T10:00:00+08:00"),
    ("early morning: later the same day", hours(WORKDAYS), "2026-11-23T06:00:00+08:00",
     "2026-11-23T08:00:00+08:00"),
    ("Friday evening: Monday morning", hours(WORKDAYS), "2026-11-27T20:00:00+08:00",
     "2026-11-30T08:00:00+08:00"),
    ("Friday evening before a Monday holiday: Tuesday morning",
     hours(WORKDAYS, ("2026-11-30",)), "2026-11-27T20:00:00+08:00", "2026-12-01T08:00:00+08:00"),
    ("7x24 on a holiday: midnight after it", hours(None, ("2026-11-23",)),
     "2026-11-23T10:00:00+08:00", "2026-11-24T00:00:00+08:00"),
    ("in the lunch break: the afternoon", hours(LUNCH_BREAK), "2026-11-23T12:15:00+08:00",
     "2026-11-23T13:30:00+08:00"),
    ("no hours at all: never", hours({}), "2026-11-23T10:00:00+08:00", None),
    ("an opening exactly 14 days ahead is found", hours({"mon": ["08:00-20:00"]},
     ("2026-11-16", "2026-11-23")), "2026-11-16T08:00:00+08:00", "2026-11-30T08:00:00+08:00"),
    ("an opening more than 14 days ahead is not", hours({"mon": ["08:00-20:00"]},
     ("2026-11-16", "2026-11-23")), "2026-11-16T07:59:59+08:00", None),
    ("Saturday evening before DST begins: Sunday 08:00 EDT",
     hours({"sun": ["08:00-20:00"]}, timezone=NEW_YORK), "2026-03-07T21:00:00-05:00",
     "2026-03-08T08:00:00-04:00"),
    ("a start in the spring-forward gap opens when the clock jumps",
     hours({"sun": ["02:30-05:00"]}, timezone=NEW_YORK), "2026-03-08T01:00:00-05:00",
     "2026-03-08T03:00:00-04:00"),
    ("Saturday evening before DST ends: Sunday 08:00 EST",
     hours({"sat": ["08:00-20:00"], "sun": ["08:00-20:00"]}, timezone=NEW_YORK),
     "2026-10-31T21:00:00-04:00", "2026-11-01T08:00:00-05:00"),
    ("a start in the repeated hour opens again the second time round",
     hours({"sun": ["01:00-01:20"]}, timezone=NEW_YORK), "2026-11-01T01:30:00-04:00",
     "2026-11-01T01:00:00-05:00"),
    ("falling back into a range opens when the clock turns back",
     hours({"sun": ["00:30-01:30"]}, timezone=NEW_YORK), "2026-11-01T01:45:00-04:00",
     "2026-11-01T01:00:00-05:00"),
]


@pytest.mark.parametrize(("node", "now", "expected"), [c[1:] for c in NEXT_OPENING_CASES],
                         ids=[c[0] for c in NEXT_OPENING_CASES])
def test_next_opening_is_the_first_open_moment_within_14_days(node: HoursNode, now: str,
                                                              expected: str | None) -> None:
    opening = next_opening(node, at(now))
    if expected is None:
        assert opening is None
        return
    assert opening is not None
    assert opening.isoformat() == expected
    assert opening.tzinfo == ZoneInfo(node.timezone)
    assert is_open(node, opening)


@pytest.mark.parametrize("judge", [is_open, next_opening], ids=["is_open", "next_opening"])
def test_a_naive_datetime_is_refused(judge) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        judge(hours(WORKDAYS), datetime(2026, 11, 23, 10, 0))


def test_a_holiday_is_closed_all_day_even_in_opening_hours() -> None:
    node = hours(WORKDAYS, ("2026-11-23",))
    day = [at(f"2026-11-23T{h:02d}:{m:02d}:00+08:00") for h in range(24) for m in (0, 30)]
    assert not any(is_open(node, moment) for moment in day)
    assert is_open(node, at("2026-11-24T08:00:00+08:00"))


def test_the_default_is_open_every_minute_of_the_week_in_shanghai() -> None:
    node = hours()
    assert node.timezone == "Asia/Shanghai" and node.weekly is None
    week = [at(f"2026-11-{d}T{h:02d}:{m:02d}:00+00:00") for d in range(23, 30) for h in range(24)
            for m in range(0, 60, 15)]
    assert all(is_open(node, moment) for moment in week)
