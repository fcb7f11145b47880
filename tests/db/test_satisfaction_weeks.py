"""R17 (#18): last week's satisfaction summary is made by itself on Monday, well before 18:00,
kept once, and reported as it was made even when a late score arrives."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.calls.models import Call
from app.surveys import rules, service
from tests.db.test_reports import client  # noqa: F401 - fixture


def _scored(clock, score: int, days_ago: float = 3) -> Call:
    at = clock.now() - timedelta(days=days_ago)
    return Call(id=uuid.uuid4(), channel_id=f"s-{uuid.uuid4()}", caller_number="1", language="zh",
                state="ended", started_at=at, last_seen_at=at, queue="general", satisfaction=score,
                satisfaction_at=at)


def test_the_week_due_on_a_monday_is_the_one_just_over():
    from zoneinfo import ZoneInfo

    from tests.support.clock import FakeClock

    now = FakeClock().now()  # Monday 23 Nov 2026, 10:00 in Shanghai
    assert rules.due_week(now, ZoneInfo("Asia/Shanghai"), kept=False) == "2026-W47"
    assert rules.due_week(now, ZoneInfo("Asia/Shanghai"), kept=True) is None
    ready = rules.week_range("2026-W47", ZoneInfo("Asia/Shanghai")).ready_by
    assert now < ready  # made before Monday 18:00


async def test_last_weeks_summary_is_kept_once_and_reported_as_it_was(client, sessionmaker,  # noqa: F811
                                                                       clock):
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    async with sessionmaker() as session, session.begin():
        session.add_all([_scored(clock, 5), _scored(clock, 3)])
    async with sessionmaker() as session, session.begin():
        assert await service.keep_due_week(session=session, now=clock.now(), zone=zone) == "2026-W47"
    async with sessionmaker() as session, session.begin():
        assert await service.keep_due_week(session=session, now=clock.now(), zone=zone) is None
    async with sessionmaker() as session, session.begin():
        session.add(_scored(clock, 1))  # a score of last week, stored after the summary was made
    body = (await client.get("/api/reports/satisfaction/weekly")).json()
    assert body["week"] == "2026-W47" and body["kept_at"] is not None
    assert body["overall"]["count"] == 2 and body["overall"]["average"] == 4.0
    older = (await client.get("/api/reports/satisfaction/weekly",
                              params={"week": "2026-W46"})).json()
    assert older["kept_at"] is None and older["overall"]["count"] == 0  # computed now
