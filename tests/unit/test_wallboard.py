"""The wallboard's snapshot from plain data (R19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.reports.wallboard import Waiter, local_day, snapshot

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_waiting_callers_longest_wait_and_agents_by_state():
    board = snapshot(now=NOW, today=None, waiting=[
        Waiter("general", NOW - timedelta(seconds=12)), Waiter("general", NOW - timedelta(seconds=70)),
        Waiter("complaints", NOW - timedelta(seconds=3))],
        agent_states=["ready", "ready", "on_call", "paused"])
    assert (board["waiting"], board["longest_wait_seconds"]) == (3, 70.0)
    assert board["by_queue"] == {"general": {"waiting": 2, "longest_wait_seconds": 70.0},
                                 "complaints": {"waiting": 1, "longest_wait_seconds": 3.0}}
    assert board["agents"] == {"ready": 2, "ringing": 0, "on_call": 1, "wrap_up": 0,
                               "paused": 1, "logged_out": 0}


def test_nobody_waiting_is_zero_not_missing():
    board = snapshot(now=NOW, waiting=[], agent_states=[], today=None)
    assert (board["waiting"], board["longest_wait_seconds"], board["by_queue"]) == (0, 0.0, {})


def test_today_is_the_local_day_in_the_centres_time_zone():
    zone = ZoneInfo("Asia/Shanghai")
    start, end = local_day(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), zone)  # 01:00 on the 24th
    assert (start.isoformat(), end.isoformat()) == ("2026-11-24T00:00:00+08:00",
                                                    "2026-11-25T00:00:00+08:00")
    start, end = local_day(datetime(2026, 3, 8, 12, 0, tzinfo=UTC), ZoneInfo("America/New_York"))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)  # spring forward
