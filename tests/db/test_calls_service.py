"""The call log's storage: idempotent per channel, timeline rows kept once, pages newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.calls import service
from app.calls.models import CallEvent
from app.calls.state import CallState, Trigger

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _open(session, channel_id: str, at: datetime = T0):
    return await service.open_call(session=session, channel_id=channel_id,
                                   caller_number="13800138000", caller_name="Zhang San",
                                   dialed_number="95000", language="zh", started_at=at)


async def test_opening_the_same_channel_twice_gives_one_call_and_one_arrival_row(session):
    first, seq1 = await _open(session, "ch-1")
    again, seq2 = await _open(session, "ch-1", at=T0 + timedelta(seconds=5))
    assert first.id == again.id and again.started_at == T0
    assert (seq1, seq2) == (0, 0)
    rows = (await session.scalars(select(CallEvent).where(CallEvent.call_id == first.id))).all()
    assert [(r.trigger, r.to_state) for r in rows] == [("arrived", "ringing")]


async def test_a_transition_recorded_twice_is_kept_once_and_moves_the_call(session):
    call, _ = await _open(session, "ch-2")
    for _ in range(2):
        await service.record_transition(session=session, call_id=call.id, seq=1, at=T0,
                                        from_state=CallState.ringing, trigger=Trigger.answered,
                                        to_state=CallState.answered, answered_at=T0)
    loaded = await service.get(session=session, call_id=call.id)
    assert loaded.state == "answered" and loaded.answered_at == T0
    assert [e.seq for e in loaded.events] == [0, 1]


async def test_calls_page_newest_first_with_a_cursor_and_a_time_range(session):
    for i in range(5):
        await _open(session, f"page-{i}", at=T0 + timedelta(minutes=i))
    page1 = await service.list_calls(session=session, since=T0, until=T0 + timedelta(hours=1),
                                     limit=2, after=None)
    assert [c.channel_id for c in page1] == ["page-4", "page-3"]
    page2 = await service.list_calls(session=session, since=T0, until=T0 + timedelta(hours=1),
                                     limit=2, after=(page1[-1].started_at, page1[-1].id))
    assert [c.channel_id for c in page2] == ["page-2", "page-1"]
    ranged = await service.list_calls(session=session, since=T0 + timedelta(minutes=1),
                                      until=T0 + timedelta(minutes=3), limit=10, after=None)
    assert [c.channel_id for c in ranged] == ["page-2", "page-1"]


async def test_marking_open_calls_seen_never_moves_the_stamp_backwards(session):
    call, _ = await _open(session, "seen-1")
    later = T0 + timedelta(minutes=2)
    assert await service.mark_open_calls_seen(session=session, at=later) >= 1
    await service.mark_open_calls_seen(session=session, at=T0 + timedelta(minutes=1))
    await session.refresh(call)
    assert call.last_seen_at == later
