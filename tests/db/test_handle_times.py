"""The estimated wait told to waiting callers uses each queue's measured AHT (#18, R19): the
window's talk + hold + wrap-up once enough calls were handled, else HOTLINE_AVERAGE_HANDLE_SECONDS;
the ACD reads it from memory through its hook."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from app.reports import queries
from app.reports.definitions import Totals
from app.reports.handle_times import HandleTimes, aht_for
from routing.models import AgentStateChange
from tests.db.test_acd import add_agents, started_acd
from tests.db.test_reports import _agent, _call

PARAMS = queries.Params(15, 5, 15)


def test_the_measured_aht_needs_enough_handled_calls():
    enough = Totals(talked=20, talk_sum=20 * 100.0, wrap_sum=20 * 20.0)
    assert aht_for(enough, fallback=180, min_calls=20) == 120
    assert aht_for(Totals(talked=19, talk_sum=1900.0), fallback=180, min_calls=20) == 180
    assert aht_for(None, fallback=180, min_calls=20) == 180


async def test_each_queue_gets_the_aht_of_its_last_day_of_calls(sessionmaker, clock):
    now = clock.now()
    async with sessionmaker() as session, session.begin():
        agent = await _agent(session, "wang")
        for i in range(25):  # general: 100 s talk + 20 s wrap-up
            c = _call(start=now - timedelta(hours=3, minutes=i), queued=1, answered=6, ended=106,
                      agent_id=agent)
            session.add(c)
            await session.flush()
            session.add_all([
                AgentStateChange(agent_id=agent, at=c.ended_at, from_state="on_call",
                                 to_state="wrap_up", event="call_ended", call_id=c.id),
                AgentStateChange(agent_id=agent, at=c.ended_at + timedelta(seconds=20),
                                 from_state="wrap_up", to_state="ready", event="wrap_up_done")])
        for i in range(3):  # complaints: too few calls to trust
            session.add(_call(start=now - timedelta(hours=2, minutes=i), queue="complaints",
                              queued=1, answered=6, ended=906, agent_id=agent))
        session.add(_call(start=now - timedelta(days=2), queued=1, answered=6, ended=3606,
                          agent_id=agent))  # out of the window
    times = HandleTimes(fallback=180, window=timedelta(hours=24), min_calls=20)
    assert times.get("general") == 180  # before the first refresh: the setting
    async with sessionmaker() as session:
        done = await times.refresh(session=session, params=PARAMS, now=now)
    assert done == {"general": pytest.approx(120), "complaints": 180}
    assert times.get("general") == pytest.approx(120) and times.get("nowhere") == 180


async def test_the_acd_announces_the_wait_from_the_queues_measured_aht(sessionmaker, clock):
    """One agent at work, the caller second in line: one handle time ahead of them. With the
    setting's 180 s that is 3 minutes; with general's measured 600 s, 10 minutes."""
    await add_agents(sessionmaker, clock, "wang", state="ready")
    acd, _ = await started_acd(sessionmaker, clock)
    try:
        first, second = uuid.uuid4(), uuid.uuid4()
        for call_id in (first, second):
            acd.waiting[call_id] = _waiting(acd, call_id, clock)
        said = acd.announcement(second)
        assert said[said.index("estimated_wait") + 1:] == ["digit_3", "minutes"]
        acd.handle_seconds = {"general": 600.0}.get
        said = acd.announcement(second)
        assert said[said.index("estimated_wait") + 1:] == ["digit_1", "digit_0", "minutes"]
    finally:
        await acd.close()


def _waiting(acd, call_id, clock):
    from routing import queue_order
    from routing.engine import Waiting
    from routing.strategies import CallNeed

    need = CallNeed(call_id=call_id, language="zh", skills=frozenset(), min_level=None,
                    excluded=frozenset())
    entry = queue_order.WaitingCall(call_id=call_id, enqueued_at=clock.now(), need=need,
                                    priority=0, reoffer=False)
    clock.advance(1)
    return Waiting(call_id, str(call_id), "general", entry)
