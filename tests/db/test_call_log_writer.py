"""The call log written behind (#9): order per call, many calls per transaction, a failed write
losing only itself, nothing lost on close; nothing lost while Postgres is unreachable (R21, #15)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.calls import service
from app.calls.log_writer import CallLogWriter
from app.calls.models import Call, CallEvent
from app.config import WriterSettings
from app.db import make_sessionmaker
from ivr import service as ivr_store
from tests.support.pg_proxy import proxied_engine

pytestmark = pytest.mark.committing

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class CountingSessions:
    """The sessionmaker, counting the sessions (one per transaction) the writer opens."""

    def __init__(self, sessionmaker) -> None:
        self.sessionmaker, self.opened = sessionmaker, 0

    def __call__(self):
        self.opened += 1
        return self.sessionmaker()


async def open_call(sessionmaker, channel_id: str) -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        row, _ = await service.open_call(session=session, channel_id=channel_id,
                                         caller_number="+8613800138000", caller_name=None,
                                         dialed_number="100", language="zh", started_at=T0)
    return row.id


async def timeline(sessionmaker, call_id: uuid.UUID) -> list[tuple[int, str, str]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(CallEvent).where(CallEvent.call_id == call_id)
                                     .order_by(CallEvent.seq))
        return [(e.seq, e.trigger, e.to_state) for e in rows]


async def row(sessionmaker, call_id: uuid.UUID) -> Call:
    async with sessionmaker() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call


def transitions(writer: CallLogWriter, call_id: uuid.UUID) -> None:
    """A call's course as the flow writes it (6 writes): answered, menu, a language, a step,
    the queue."""
    writer.transition(call_id=call_id, seq=1, at=T0, from_state="ringing", trigger="answered",
                      to_state="answered", updates={"answered_at": T0})
    writer.transition(call_id=call_id, seq=2, at=T0 + timedelta(seconds=1), from_state="answered",
                      trigger="ivr_started", to_state="in_ivr")
    writer.update(call_id, ivr_node="welcome", language="en")
    writer.ivr_step(call_id=call_id, seq=1, at=T0 + timedelta(seconds=2), node="welcome",
                    input="1", outcome="goto:queue")
    writer.update(call_id, ivr_node="queue")
    writer.transition(call_id=call_id, seq=3, at=T0 + timedelta(seconds=3), from_state="in_ivr",
                      trigger="enqueued", to_state="in_queue", updates={"queue": "sales"},
                      detail={"queue": "sales"})


async def test_many_calls_in_order_in_one_transaction(sessionmaker) -> None:
    calls = [await open_call(sessionmaker, f"log-writer-{n}") for n in range(3)]
    counting = CountingSessions(sessionmaker)
    writer = CallLogWriter(counting, flush_seconds=0.05)
    for call_id in calls:
        transitions(writer, call_id)
    await writer.drain()
    assert counting.opened == 1  # 3 calls x 6 writes: one transaction
    for call_id in calls:
        assert await timeline(sessionmaker, call_id) == [
            (0, "arrived", "ringing"), (1, "answered", "answered"), (2, "ivr_started", "in_ivr"),
            (3, "enqueued", "in_queue")]
        stored = await row(sessionmaker, call_id)
        assert (stored.state, stored.queue, stored.ivr_node, stored.language) == (
            "in_queue", "sales", "queue", "en")  # the last write of each column won
        assert stored.answered_at == T0 and stored.last_seen_at == T0 + timedelta(seconds=3)
        async with sessionmaker() as session:
            path = await ivr_store.path_of(session=session, call_id=call_id)
        assert [(s.seq, s.node, s.outcome) for s in path] == [(1, "welcome", "goto:queue")]


async def test_a_full_batch_is_written_before_the_flush_interval(sessionmaker) -> None:
    call_id = await open_call(sessionmaker, "log-writer-full")
    writer = CallLogWriter(sessionmaker, flush_seconds=1.0, max_batch=3)
    started = time.monotonic()
    transitions(writer, call_id)
    writer.update(call_id, priority=1)  # 7 writes: batches of 3, 3 and (after the interval) 1
    await asyncio.sleep(0.3)
    assert len(await timeline(sessionmaker, call_id)) == 4  # the first six writes are stored
    stored = await row(sessionmaker, call_id)
    assert (stored.state, stored.priority) == ("in_queue", 0)
    await writer.close()  # the last one without waiting out the interval
    assert time.monotonic() - started < 1.0
    assert (await row(sessionmaker, call_id)).priority == 1


async def test_a_failed_write_loses_only_itself(sessionmaker, caplog) -> None:
    good = await open_call(sessionmaker, "log-writer-good")
    gone = uuid.uuid4()  # no such call: its timeline row breaks the batch's transaction
    counting = CountingSessions(sessionmaker)
    writer = CallLogWriter(counting, flush_seconds=0.05)
    writer.transition(call_id=good, seq=1, at=T0, from_state="ringing", trigger="answered",
                      to_state="answered")
    writer.transition(call_id=gone, seq=1, at=T0, from_state="ringing", trigger="answered",
                      to_state="answered")
    writer.transition(call_id=good, seq=2, at=T0, from_state="answered", trigger="ivr_started",
                      to_state="in_ivr")
    await writer.drain()
    assert counting.opened == 1 + 3  # the batch, then each write alone
    assert await timeline(sessionmaker, good) == [
        (0, "arrived", "ringing"), (1, "answered", "answered"), (2, "ivr_started", "in_ivr")]
    assert await timeline(sessionmaker, gone) == []
    # and the next batch is written as usual
    writer.update(good, ivr_node="welcome")
    await writer.drain()
    assert (await row(sessionmaker, good)).ivr_node == "welcome"


async def test_close_stores_what_is_queued(sessionmaker) -> None:
    call_id = await open_call(sessionmaker, "log-writer-close")
    writer = CallLogWriter(sessionmaker, flush_seconds=1.0)
    writer.transition(call_id=call_id, seq=1, at=T0, from_state="ringing", trigger="channel_gone",
                      to_state="ended", updates={"ended_at": T0, "end_reason": "caller_hangup"})
    started = time.monotonic()
    await writer.close()
    assert time.monotonic() - started < 0.5
    stored = await row(sessionmaker, call_id)
    assert (stored.state, stored.end_reason) == ("ended", "caller_hangup")


async def test_writes_are_checked_when_made(sessionmaker) -> None:
    writer = CallLogWriter(sessionmaker)
    with pytest.raises(ValueError, match="not columns"):
        writer.update(uuid.uuid4(), no_such_column=1)
    with pytest.raises(ValueError, match="not columns"):
        writer.transition(call_id=uuid.uuid4(), seq=1, at=T0, from_state="ringing",
                          trigger="answered", to_state="answered", updates={"id": uuid.uuid4()})
    with pytest.raises(ValueError, match="flush_seconds"):
        CallLogWriter(sessionmaker, flush_seconds=-1)
    with pytest.raises(ValueError, match="max_batch"):
        CallLogWriter(sessionmaker, max_batch=0)


async def test_what_is_written_while_postgres_is_unreachable_is_stored_in_order_when_it_returns(
        sessionmaker, database_url) -> None:
    calls = [await open_call(sessionmaker, f"log-writer-outage-{n}") for n in range(2)]
    async with proxied_engine(database_url) as (engine, proxy):
        writer = CallLogWriter(make_sessionmaker(engine), flush_seconds=0.01, limits=FAST)
        writer.transition(call_id=calls[0], seq=1, at=T0, from_state="ringing",
                          trigger="answered", to_state="answered")
        assert await writer.drain()
        proxy.cut()  # Postgres unreachable: connections dropped, new ones refused
        transitions(writer, calls[1])
        for seq, (trigger, state) in enumerate([("ivr_started", "in_ivr"),
                                                ("enqueued", "in_queue"),
                                                ("channel_gone", "ended")], start=2):
            writer.transition(call_id=calls[0], seq=seq, at=T0 + timedelta(seconds=seq),
                              from_state="x", trigger=trigger, to_state=state)
            await asyncio.sleep(0.05)  # the writer tries, fails and keeps them meanwhile
        assert writer.pending == 9
        assert len(await timeline(sessionmaker, calls[0])) == 2  # nothing got through
        proxy.restore()
        assert await writer.drain()
        await writer.close()
    assert await timeline(sessionmaker, calls[0]) == [
        (0, "arrived", "ringing"), (1, "answered", "answered"), (2, "ivr_started", "in_ivr"),
        (3, "enqueued", "in_queue"), (4, "channel_gone", "ended")]
    assert (await row(sessionmaker, calls[0])).state == "ended"
    assert await timeline(sessionmaker, calls[1]) == [
        (0, "arrived", "ringing"), (1, "answered", "answered"), (2, "ivr_started", "in_ivr"),
        (3, "enqueued", "in_queue")]
    stored = await row(sessionmaker, calls[1])
    assert (stored.state, stored.ivr_node, stored.language) == ("in_queue", "queue", "en")


# Retries within milliseconds, so that an outage of a fraction of a second is over quickly.
FAST = WriterSettings(retry_min_seconds=0.02, retry_max_seconds=0.1, drain_seconds=20.0)
