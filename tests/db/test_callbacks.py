"""Call-backs and surveys (R8, R15, R17) against real Postgres and the recording fake of the
telephony port: the agent is rung first and the customer dialled only once the agent answers;
every outcome is stored and moves the task on; a complaint's customer who never answers closes
it as unreachable; the survey after an agent call and after a complaint call-back (tests/e2e
does the same through Asterisk with SIPp phones)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.ari.models import Channel
from app.callbacks import service as callbacks
from app.callbacks.models import CallbackAttempt, CallbackSource, CallbackTask
from app.calls.models import Call
from app.complaints.models import Complaint
from app.errors import AppError
from app.recordings.models import Recording
from routing.models import AgentRow, QueueRow
from tests.db.test_call_flow import DEMO, arrive, feed, keys, make_stasis, prompt_done, said
from tests.support import events as ev
from tests.support.desk import build_world, client, fast_passwords, make_app, sign_in_roles
from tests.support.fake_telephony import FakeTelephony, wav_bytes

__all__ = ["fast_passwords"]

# The call flow runs many sessions at once: real commits on an emptied call log (conftest).
pytestmark = pytest.mark.committing

CYCLE = 0.05  # one ring: the agent's ring limit is 0.15 s
CUSTOMER_RING = 0.2
DIAL = "PJSIP/trunk/sip:{number}@127.0.0.1:5070"


@pytest.fixture
async def stasis(request, fake, sessionmaker, clock, tmp_path):
    # A test that looks at the caller's moment to hang up first (R2) gets a grace that no busy
    # machine outruns (marked `long_grace`); the others a short one.
    grace = {"closing_grace_seconds": 30} if request.node.get_closest_marker("long_grace") else {}
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE,
                               wrap_up_seconds=0, callback_ring_seconds=CUSTOMER_RING,
                               callback_retry_minutes=30, callback_max_attempts=3,
                               outbound_dial=DIAL, survey_timeout_seconds=0.1, **grace)
    yield stasis
    await stasis.close()


async def agent(sessionmaker, clock, name: str = "wang", state: str = "ready") -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        row = AgentRow(name=name, extension=str(uuid.uuid4().int % 10**6), level="senior",
                       skills={}, languages=["zh", "en"], contact=f"sip:{name}@127.0.0.1:5090",
                       state=state, state_since=clock.now(), ready_since=clock.now())
        session.add(row)
    return row.id


async def task(sessionmaker, clock, number: str = "13800138000", **kw) -> uuid.UUID:
    """A voicemail's task, due a day from the test's clock (as the call flow opens one)."""
    async with sessionmaker() as session, session.begin():
        made = await callbacks.open_task(session=session, source=CallbackSource.voicemail,
                                         customer_number=number, language="zh", call_id=None,
                                         due_at=clock.now() + timedelta(hours=24), **kw)
    return made.id


async def resolved_complaint(sessionmaker, clock, number: str = "+8613800138000") -> uuid.UUID:
    async with sessionmaker() as session, session.begin():
        complaint = Complaint(number=f"26112{uuid.uuid4().int % 10**5:05d}",
                              customer_number=number, status="resolved", severity="general",
                              summary="late parcel", customer_name="Wang Fang",
                              created_at=clock.now() - timedelta(days=2),
                              resolved_at=clock.now() - timedelta(hours=1),
                              callback_due_at=clock.now() + timedelta(hours=71))
        session.add(complaint)
    return complaint.id


async def one(sessionmaker, model, ident):
    async with sessionmaker() as session:
        return await session.get(model, ident)


def originated(fake: FakeTelephony) -> list[tuple]:
    return [c for c in fake.commands if c[0] == "originate"]


async def answer(stasis, fake, leg: str, kind: str, attempt_id) -> None:
    fake.channels[leg] = Channel(id=leg, state="Up")
    await feed(stasis, ev.raw("StasisStart", args=[kind, str(attempt_id)],
                              channel=ev.channel(leg, state="Up")))


async def gone(stasis, *legs: str, cause: int = 16) -> None:
    for leg in legs:
        await feed(stasis, ev.raw("ChannelDestroyed", cause=cause, cause_txt="x",
                                  channel=ev.channel(leg, state="Down")))


async def begin(stasis, task_id, agent_id):
    live = await stasis.flow.outbound.begin(task_id=task_id, agent_id=agent_id, user_id=None)
    await stasis.drain()
    return live


async def test_the_agent_is_rung_first_and_the_customer_dialled_once_the_agent_answers(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    with stasis.desk.connect(wang) as screen:
        await _rung_first_then_dialled(stasis, fake, sessionmaker, clock, wang, task_id)
    told = []
    while not screen.queue.empty():
        message = screen.queue.get_nowait()
        if message.type == "callback":
            told.append((message.stage, message.outcome, message.customer_number))
    assert told == [("ringing", None, "13800138000"), ("dialing", None, "13800138000"),
                    ("connected", "answered", "13800138000"), ("ended", "answered", "13800138000")]


async def _rung_first_then_dialled(stasis, fake, sessionmaker, clock, wang, task_id):
    live = await begin(stasis, task_id, wang)
    [first] = originated(fake)
    assert first[1:] == ("PJSIP/trunk/sip:wang@127.0.0.1:5090", f"cba-{live.attempt_id}",
                         f"callback-agent,{live.attempt_id}")
    assert stasis.acd.agents[wang].state == "ringing"
    assert (await one(sessionmaker, CallbackTask, task_id)).status == "in_progress"
    with pytest.raises(AppError) as busy:  # the same task twice: refused
        await stasis.flow.outbound.begin(task_id=task_id, agent_id=wang, user_id=None)
    assert busy.value.error_id == "callback-in-progress"

    await feed(stasis, ev.raw("ChannelStateChange", channel=ev.channel(live.agent_leg,
                                                                       state="Ringing")))
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    assert ("start_moh", live.agent_leg, "default") in fake.commands  # music while we dial
    customer = originated(fake)[1]
    assert customer[1:] == ("PJSIP/trunk/sip:13800138000@127.0.0.1:5070", live.customer_leg,
                            f"callback-customer,{live.attempt_id}")
    assert stasis.acd.agents[wang].state == "on_call"

    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    bridge = f"call-{live.call_id}"
    assert ("stop_moh", live.agent_leg) in fake.commands
    assert ("add_to_bridge", bridge, (live.agent_leg, live.customer_leg)) in fake.commands
    attempt = await one(sessionmaker, CallbackAttempt, live.attempt_id)
    assert attempt.outcome == "answered" and attempt.agent_answered_at and attempt.customer_answered_at
    row = await one(sessionmaker, CallbackTask, task_id)
    assert (row.status, row.attempts, row.last_outcome) == ("done", 1, "answered")

    await feed(stasis, ev.hangup_request(live.customer_leg), ev.stasis_end(live.customer_leg))
    assert ("hangup", live.agent_leg) in fake.commands  # the customer hung up: the agent's leg goes
    await feed(stasis, ev.stasis_end(live.agent_leg))
    call = await one(sessionmaker, Call, live.call_id)
    assert (call.direction, call.end_reason, call.hangup_by, call.agent_id) == (
        "outbound", "completed", "customer", wang)
    assert call.answered_at is not None and call.ended_at is not None
    assert not stasis.flow.outbound.calls and live.agent_leg not in stasis.flow.legs
    await asyncio.sleep(0.02)
    assert stasis.acd.agents[wang].state == "ready"  # after the wrap-up (0 s here)
    assert (await one(sessionmaker, CallbackAttempt, live.attempt_id)).ended_at is not None


@pytest.mark.parametrize("outcome", ["no_answer", "busy", "failed", "dial_error"])
async def test_each_outcome_is_stored_and_the_task_is_tried_again_later(
        stasis, fake, sessionmaker, clock, outcome):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    if outcome == "dial_error":
        fake.fail_on.add("originate")  # the trunk refuses the customer's leg
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    fake.fail_on.clear()
    if outcome == "no_answer":  # rings past HOTLINE_CALLBACK_RING_SECONDS
        await asyncio.sleep(CUSTOMER_RING + 0.1)
        await stasis.drain()
        assert ("hangup", live.customer_leg) in fake.commands
        await gone(stasis, live.customer_leg)
    elif outcome in ("busy", "failed"):
        await gone(stasis, live.customer_leg, cause=17 if outcome == "busy" else 34)
    assert ("hangup", live.agent_leg) in fake.commands  # the agent is let go
    await feed(stasis, ev.stasis_end(live.agent_leg))
    expected = "failed" if outcome == "dial_error" else outcome
    assert recorded(fake) == [] and await recordings(sessionmaker, live.call_id) == []  # R16
    attempt = await one(sessionmaker, CallbackAttempt, live.attempt_id)
    assert attempt.outcome == expected and attempt.customer_answered_at is None
    row = await one(sessionmaker, CallbackTask, task_id)
    assert (row.status, row.attempts, row.last_outcome) == ("open", 1, expected)
    assert row.next_attempt_at == clock.now() + timedelta(minutes=30)
    call = await one(sessionmaker, Call, live.call_id)
    assert call.ended_at is not None and call.end_reason == expected
    with pytest.raises(AppError) as early:
        await stasis.flow.outbound.begin(task_id=task_id, agent_id=wang, user_id=None)
    assert early.value.error_id == "callback-too-early"


async def test_an_agent_who_does_not_answer_is_paused_and_the_attempt_does_not_count(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await feed(stasis, ev.raw("ChannelStateChange", channel=ev.channel(live.agent_leg,
                                                                       state="Ringing")))
    await asyncio.sleep(3 * CYCLE + 0.1)  # R1: the ring limit
    await stasis.drain()
    assert ("hangup", live.agent_leg) in fake.commands
    assert len(originated(fake)) == 1  # the customer was never dialled
    await gone(stasis, live.agent_leg)
    assert (stasis.acd.agents[wang].state, stasis.acd.agents[wang].state_reason) == (
        "paused", "missed_rings")
    attempt = await one(sessionmaker, CallbackAttempt, live.attempt_id)
    assert (attempt.outcome, attempt.reason) == ("failed", "agent_no_answer")
    row = await one(sessionmaker, CallbackTask, task_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("open", 0, None)


async def test_a_busy_agent_cannot_start_a_call_back(stasis, sessionmaker, clock):
    wang = await agent(sessionmaker, clock, state="paused")
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    with pytest.raises(AppError) as busy:
        await stasis.flow.outbound.begin(task_id=task_id, agent_id=wang, user_id=None)
    assert busy.value.error_id == "agent-busy"
    assert (await one(sessionmaker, CallbackTask, task_id)).status == "open"


async def test_a_complaint_customer_who_never_answers_closes_the_complaint_as_unreachable(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    complaint_id = await resolved_complaint(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        assert await callbacks.sync_complaints(session=session, now=clock.now(), max_attempts=3) == 1
        assert await callbacks.sync_complaints(session=session, now=clock.now(), max_attempts=3) == 0
        [view] = await callbacks.list_tasks(session=session, status="open")
    assert (view.task.source, view.task.complaint_id, view.complaint_number) == (
        "complaint", complaint_id, view.complaint_number)
    assert view.customer_name == "Wang Fang" and view.task.due_at is not None
    await stasis.acd.start()
    for n in range(3):
        live = await begin(stasis, view.task.id, wang)
        await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
        await gone(stasis, live.customer_leg, cause=19)
        await feed(stasis, ev.stasis_end(live.agent_leg))
        await asyncio.sleep(0.02)  # wrap-up
        clock.advance(30 * 60)     # HOTLINE_CALLBACK_RETRY_MINUTES
    row = await one(sessionmaker, CallbackTask, view.task.id)
    assert (row.status, row.attempts, row.last_outcome) == ("unreachable", 3, "no_answer")
    complaint = await one(sessionmaker, Complaint, complaint_id)
    assert (complaint.status, complaint.callback_attempts) == ("closed_unreachable", 3)
    with pytest.raises(AppError) as closed:
        await stasis.flow.outbound.begin(task_id=row.id, agent_id=wang, user_id=None)
    assert closed.value.error_id == "callback-closed"


async def test_after_a_complaint_call_back_the_customer_rates_it_on_the_call_and_complaint(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    complaint_id = await resolved_complaint(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        await callbacks.sync_complaints(session=session, now=clock.now(), max_attempts=3)
        [view] = await callbacks.list_tasks(session=session, status="open")
    await stasis.acd.start()
    live = await begin(stasis, view.task.id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    assert (await one(sessionmaker, Complaint, complaint_id)).status == "called_back"
    [(_, _, name)] = recorded(fake)
    await feed(stasis, ev.stasis_end(live.agent_leg))  # the agent hangs up first
    # R16: the agent conversation's recording ends with it; the survey is not in it
    stopped = fake.commands.index(("stop_live_recording", name))
    assert stopped < fake.commands.index(("destroy_bridge", f"call-{live.call_id}"))
    question = f"{live.call_id}.survey1"
    assert stopped < fake.commands.index(
        ("play", live.customer_leg, ("sound:/srv/hotline/prompts/zh/survey_question",), question))
    assert [c for c in fake.commands if c[0] == "play"][-1][1:] == (
        live.customer_leg, ("sound:/srv/hotline/prompts/zh/survey_question",), question)
    await feed(stasis, ev.playback_finished(live.customer_leg, question))
    await feed(stasis, ev.dtmf(live.customer_leg, "4"))
    assert fake.played()[-1] == ("sound:/srv/hotline/prompts/zh/survey_thanks",)
    await feed(stasis, ev.playback_finished(live.customer_leg, f"{live.call_id}.thanks"))
    assert ("hangup", live.customer_leg) in fake.commands
    await feed(stasis, ev.stasis_end(live.customer_leg))
    call = await one(sessionmaker, Call, live.call_id)
    assert (call.satisfaction, call.end_reason, call.hangup_by) == (4, "completed", "agent")
    assert (await one(sessionmaker, Complaint, complaint_id)).satisfaction == 4
    await stasis.recorder.drain()
    [row] = await recordings(sessionmaker, live.call_id)
    assert (row.name, row.status, row.agent_id) == (name, "stored", wang)
    assert len(recorded(fake)) == 1


async def queue_with_survey(sessionmaker, survey: bool = True) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0, survey=survey))


async def to_agent(stasis, fake, cid: str, number: str = "13800000001") -> str:
    await feed(stasis, arrive(fake, cid, number=number))
    await prompt_done(stasis, cid)
    await keys(stasis, cid, "0")
    await prompt_done(stasis, cid)
    await stasis.drain()
    leg = originated(fake)[-1][2]
    fake.channels[leg] = Channel(id=leg, state="Up")
    await feed(stasis, ev.raw("StasisStart", args=["agent", str(stasis.flow.calls[cid].id)],
                              channel=ev.channel(leg, state="Up")))
    return leg


@pytest.mark.long_grace
async def test_a_queue_with_a_survey_asks_the_caller_after_the_agent_hangs_up(
        stasis, fake, sessionmaker, clock):
    await agent(sessionmaker, clock)
    await queue_with_survey(sessionmaker)
    await stasis.acd.start()
    leg = await to_agent(stasis, fake, "s1")
    call = stasis.flow.calls["s1"]
    await feed(stasis, ev.stasis_end(leg))  # the agent hangs up; the caller is still there
    assert call.state == "survey" and ("hangup", "s1") not in fake.commands
    assert said(stasis, fake)[-1] == ["survey_question"]
    await keys(stasis, "s1", "9")  # not 1-5: once more
    assert said(stasis, fake)[-1] == ["survey_invalid", "survey_question"]
    await keys(stasis, "s1", "5")
    assert said(stasis, fake)[-1] == ["survey_thanks"]
    await prompt_done(stasis, "s1")  # the thanks: then the caller may hang up first (R2)
    assert call.state == "awaiting_hangup"
    await feed(stasis, ev.hangup_request("s1"), ev.stasis_end("s1"))
    row = await one(sessionmaker, Call, call.id)
    assert (row.satisfaction, row.end_reason, row.hangup_by) == (5, "completed", "agent")
    assert row.satisfaction_at is not None


async def test_a_caller_who_keys_nothing_twice_is_thanked_without_a_score(
        stasis, fake, sessionmaker, clock):
    await agent(sessionmaker, clock)
    await queue_with_survey(sessionmaker)
    await stasis.acd.start()
    leg = await to_agent(stasis, fake, "s2")
    call = stasis.flow.calls["s2"]
    await feed(stasis, ev.stasis_end(leg))
    for token in (1, 2):
        await feed(stasis, ev.playback_finished("s2", f"{call.id}.survey{token}"))
        await asyncio.sleep(0.15)  # HOTLINE_SURVEY_TIMEOUT_SECONDS
        await stasis.drain()
    assert said(stasis, fake)[-1] == ["thanks"] and call.state == "closing"
    assert (await one(sessionmaker, Call, call.id)).satisfaction is None


async def test_without_the_survey_the_caller_is_hung_up_when_the_agent_leaves(
        stasis, fake, sessionmaker, clock):
    await agent(sessionmaker, clock)
    await queue_with_survey(sessionmaker, survey=False)
    await stasis.acd.start()
    leg = await to_agent(stasis, fake, "s3")
    await feed(stasis, ev.stasis_end(leg))
    assert ("hangup", "s3") in fake.commands


async def test_a_caller_who_hangs_up_waiting_gets_one_call_back_task(
        stasis, fake, sessionmaker, clock):
    await agent(sessionmaker, clock, state="paused")
    await queue_with_survey(sessionmaker, survey=False)
    await stasis.acd.start()
    for cid in ("a1", "a2"):  # the same caller abandons twice
        await feed(stasis, arrive(fake, cid, number="13800000009"))
        await prompt_done(stasis, cid)
        await keys(stasis, cid, "0")
        await prompt_done(stasis, cid)
        await feed(stasis, ev.hangup_request(cid), ev.stasis_end(cid))
    async with sessionmaker() as session:
        tasks = list(await session.scalars(select(CallbackTask).where(
            CallbackTask.source == "abandoned")))
    assert [(t.customer_number, t.status, t.max_attempts) for t in tasks] == [
        ("13800000009", "open", 3)]
    assert tasks[0].due_at == clock.now() + timedelta(hours=24)


async def _agent_a_ready(stasis, sessionmaker, world) -> None:
    """The world's agent A ready in the ACD, which is started."""
    async with sessionmaker() as session, session.begin():
        await session.execute(
            AgentRow.__table__.update().where(AgentRow.id == world.agent_a.id)
            .values(state="ready"))
    await stasis.acd.start()


async def test_the_api_lists_tasks_starts_an_attempt_and_sums_up_the_week(
        stasis, fake, sessionmaker, clock, fast_passwords):
    app = make_app(sessionmaker, clock, ring_cycle_seconds=CYCLE, wrap_up_seconds=0)
    world = await build_world(sessionmaker, clock.now())
    tokens = await sign_in_roles(app, world, ("agent", "manager", "team_lead"))
    app.state.stasis = stasis
    await resolved_complaint(sessionmaker, clock, number="+8613900139000")
    await _agent_a_ready(stasis, sessionmaker, world)
    async with client(app, tokens["agent"]) as c:
        listed = (await c.get("/api/callbacks", params={"status": "open"})).json()
        assert [(t["source"], t["customer_number"], t["attempts"]) for t in listed] == [
            ("complaint", "139****9000", 0)]  # R20: masked for an agent in the list
        task_id = listed[0]["id"]
        resp = await c.post(f"/api/callbacks/{task_id}/attempts", json={})
        assert resp.status_code == 202, resp.text
        again = await c.post(f"/api/callbacks/{task_id}/attempts", json={})
        assert (again.status_code, again.json()["error_id"]) == (409, "callback-in-progress")
        other = await c.post(f"/api/callbacks/{task_id}/attempts",
                             json={"agent_id": str(world.agent_b.id)})
        assert other.status_code == 403
        detail = (await c.get(f"/api/callbacks/{task_id}")).json()
        assert detail["status"] == "in_progress" and detail["customer_number"] == "+8613900139000"
        assert [a["id"] for a in detail["attempt_log"]] == [resp.json()["attempt_id"]]
        assert (await c.get(f"/api/callbacks/{task_id}/voicemail")).status_code == 404
    await stasis.drain()
    async with sessionmaker() as session, session.begin():
        session.add_all([Call(id=uuid.uuid4(), channel_id=f"w{n}", caller_number="1", language="zh",
                              state="ended", started_at=clock.now() - timedelta(days=3),
                              last_seen_at=clock.now(), queue=queue, satisfaction=score,
                              satisfaction_at=clock.now() - timedelta(days=3))
                         for n, (queue, score) in enumerate([("general", 5), ("general", 4),
                                                             ("billing", 2)])])
    async with client(app, tokens["manager"]) as c:
        week = (await c.get("/api/reports/satisfaction/weekly")).json()  # T0 is a Monday
        assert week["week"] == "2026-W47" and week["complete"] is True
        assert week["overall"] == {"count": 3, "average": 3.67,
                                   "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}}
        assert [(q["queue"], q["count"], q["average"]) for q in week["after_calls"]["by_queue"]] == [
            ("billing", 1, 2.0), ("general", 2, 4.5)]
        assert week["complaint_callbacks"]["count"] == 0
        assert (await c.get("/api/reports/satisfaction/weekly",
                            params={"week": "2026-47"})).status_code == 422
    async with client(app, tokens["agent"]) as c:
        assert (await c.get("/api/reports/satisfaction/weekly")).status_code == 403


async def test_a_reconnect_leaves_a_live_call_back_to_the_outbound_flow(
        stasis, fake, sessionmaker, clock):
    """Reconciliation after a dropped event stream does not take a call-back for an inbound
    call; a leg that went while we were away ends it."""
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    await stasis.reconcile()
    await stasis.drain()
    assert not stasis.flow.calls and stasis.flow.outbound.calls[live.key].state == "connected"
    fake.channels.pop(live.customer_leg)  # the customer hung up while we were not listening
    await stasis.reconcile()
    await stasis.drain()
    assert ("hangup", live.agent_leg) in fake.commands
    await feed(stasis, ev.stasis_end(live.agent_leg))
    call = await one(sessionmaker, Call, live.call_id)
    assert (call.end_reason, call.ended_at is not None) == ("completed", True)
    assert (await one(sessionmaker, CallbackTask, task_id)).status == "done"


async def test_a_call_back_cut_by_a_restart_ends_as_lost_and_does_not_count(
        stasis, fake, sessionmaker, clock, tmp_path):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    assert live.agent_leg in fake.channels  # the agent's phone rings
    await stasis.flow.outbound.close()      # the service dies here ...
    stasis.flow.outbound.calls.clear()
    # ... and a new instance finds the open outbound call, its agent's leg still there.
    fresh = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, outbound_dial=DIAL)
    try:
        await fresh.reconcile()
        await fresh.drain()
        assert not fresh.flow.calls and not fresh.flow.outbound.calls
        assert ("hangup", live.agent_leg) in fake.commands
    finally:
        await fresh.close()
    call = await one(sessionmaker, Call, live.call_id)
    assert (call.end_reason, call.state) == ("lost_track", "ended")
    attempt = await one(sessionmaker, CallbackAttempt, live.attempt_id)
    assert (attempt.outcome, attempt.reason) == ("failed", "lost_track")
    row = await one(sessionmaker, CallbackTask, task_id)
    assert (row.status, row.attempts) == ("open", 0)


async def test_a_complaint_call_back_speaks_the_language_of_the_call_it_came_in_on(
        sessionmaker, clock):
    english = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Call(id=english, channel_id=f"c-{english}", caller_number="13800138001",
                         language="en", state="ended", started_at=clock.now(),
                         last_seen_at=clock.now()))
    first = await resolved_complaint(sessionmaker, clock, number="+8613800138001")
    second = await resolved_complaint(sessionmaker, clock, number="+8613800138002")
    async with sessionmaker() as session, session.begin():
        (await session.get(Complaint, first)).call_id = english
    async with sessionmaker() as session, session.begin():
        await callbacks.sync_complaints(session=session, now=clock.now(), max_attempts=3,
                                        language="zh")
        rows = {t.complaint_id: t.language for t in await session.scalars(
            select(CallbackTask).where(CallbackTask.complaint_id.in_([first, second])))}
    assert rows == {first: "en", second: "zh"}


# -- recording call-backs (R16, R17) ---------------------------------------------------------
def recorded(fake: FakeTelephony) -> list[tuple]:
    return [c for c in fake.commands if c[0] == "record_bridge"]


async def recordings(sessionmaker, call_id) -> list[Recording]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(Recording).where(Recording.call_id == call_id)
                                          .order_by(Recording.started_at)))


async def task_from_a_call(sessionmaker, clock, queue: str | None) -> uuid.UUID:
    """A call-back task opened for a caller of `queue` (who left a message, say)."""
    origin = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Call(id=origin, channel_id=f"c-{origin}", caller_number="13800138000",
                         language="zh", state="ended", started_at=clock.now(),
                         last_seen_at=clock.now(), queue=queue))
    async with sessionmaker() as session, session.begin():
        made = await callbacks.open_task(session=session, source=CallbackSource.voicemail,
                                         customer_number="13800138000", language="zh",
                                         call_id=origin, due_at=clock.now() + timedelta(hours=24))
    return made.id


async def test_an_answered_call_back_is_recorded_with_the_notice_until_the_customer_hangs_up(
        stasis, fake, sessionmaker, clock, tmp_path):
    """Recorded because HOTLINE_RECORD_CALLBACKS is on, although the queue the task came from
    does not record its own calls; that queue's retention period applies."""
    wang = await agent(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0, record_calls=False,
                             recording_retention_days=30))
    task_id = await task_from_a_call(sessionmaker, clock, "general")
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    assert recorded(fake) == []  # not while the agent waits for the customer
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    bridge = f"call-{live.call_id}"
    [(_, on, name)] = recorded(fake)
    assert on == bridge and name.startswith(f"call-{live.call_id}-")
    # both hear the notice on the bridge, once they are bridged
    assert fake.commands.index(("add_to_bridge", bridge, (live.agent_leg, live.customer_leg))) \
        < fake.commands.index(("record_bridge", bridge, name))
    assert [c for c in fake.commands if c[0] == "play_on_bridge"] == [
        ("play_on_bridge", bridge, ("sound:/srv/hotline/prompts/zh/recording_notice",),
         f"{live.call_id}.recording_notice")]
    [row] = await recordings(sessionmaker, live.call_id)
    assert (row.status, row.agent_id, row.queue) == ("recording", wang, "general")
    audio = wav_bytes(5.5, sample=900)
    fake.recorded_audio[name] = audio
    clock.advance(5.5)
    await feed(stasis, ev.hangup_request(live.customer_leg), ev.stasis_end(live.customer_leg))
    assert ("stop_live_recording", name) in fake.commands
    await feed(stasis, ev.stasis_end(live.agent_leg))
    await stasis.recorder.drain()
    [row] = await recordings(sessionmaker, live.call_id)
    assert (row.status, row.agent_id, row.duration_seconds, row.size_bytes) == (
        "stored", wang, 5.5, len(audio))
    assert row.retain_until == row.ended_at + timedelta(days=30)  # the originating queue's
    assert (tmp_path / "storage" / row.path).read_bytes() == audio
    assert name not in fake.recordings  # deleted on Asterisk once kept


async def test_a_call_back_of_no_queue_is_kept_the_service_s_days_and_stops_when_the_agent_leaves(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)  # from a voicemail with no call: no queue
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    [(_, _, name)] = recorded(fake)
    await feed(stasis, ev.stasis_end(live.agent_leg))  # the agent hangs up (no survey)
    assert ("stop_live_recording", name) in fake.commands
    await feed(stasis, ev.stasis_end(live.customer_leg))
    await stasis.recorder.drain()
    [row] = await recordings(sessionmaker, live.call_id)
    assert (row.status, row.agent_id, row.queue) == ("stored", wang, None)
    assert row.retain_until == row.ended_at + timedelta(
        days=stasis.flow.outbound.settings.recording_retention_days)


async def test_with_record_callbacks_off_a_call_back_is_neither_recorded_nor_announced(
        stasis, fake, sessionmaker, clock):
    outbound = stasis.flow.outbound
    outbound.settings = outbound.settings.model_copy(update={"record_callbacks": False})
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    assert recorded(fake) == [] and not [c for c in fake.commands if c[0] == "play_on_bridge"]
    await feed(stasis, ev.stasis_end(live.customer_leg), ev.stasis_end(live.agent_leg))
    await stasis.recorder.drain()
    assert await recordings(sessionmaker, live.call_id) == []
    assert (await one(sessionmaker, Call, live.call_id)).end_reason == "completed"


async def test_a_recording_that_cannot_start_does_not_touch_the_call_back(
        stasis, fake, sessionmaker, clock):
    wang = await agent(sessionmaker, clock)
    task_id = await task(sessionmaker, clock)
    await stasis.acd.start()
    live = await begin(stasis, task_id, wang)
    await answer(stasis, fake, live.agent_leg, "callback-agent", live.attempt_id)
    fake.fail_on.add("record_bridge")
    await answer(stasis, fake, live.customer_leg, "callback-customer", live.attempt_id)
    fake.fail_on.clear()
    assert stasis.flow.outbound.calls[live.key].state == "connected"
    [row] = await recordings(sessionmaker, live.call_id)
    assert row.status == "failed"
    await feed(stasis, ev.stasis_end(live.customer_leg), ev.stasis_end(live.agent_leg))
    assert (await one(sessionmaker, CallbackTask, task_id)).status == "done"


@pytest.mark.parametrize("number", ["+447700900123", "+8695588", "1900555"])
async def test_a_call_back_to_a_number_outside_the_outbound_patterns_is_refused_never_dialled(
        stasis, fake, sessionmaker, clock, fast_passwords, number):
    """#20, R20: no dial fraud through a task's number (international, premium, short)."""
    app = make_app(sessionmaker, clock, ring_cycle_seconds=CYCLE, wrap_up_seconds=0)
    world = await build_world(sessionmaker, clock.now())
    tokens = await sign_in_roles(app, world, ("agent",))
    app.state.stasis = stasis
    task_id = await task(sessionmaker, clock, number=number)
    await _agent_a_ready(stasis, sessionmaker, world)
    async with client(app, tokens["agent"]) as c:
        resp = await c.post(f"/api/callbacks/{task_id}/attempts", json={})
    assert (resp.status_code, resp.json()["error_id"]) == (422, "number-not-allowed"), resp.text
    await stasis.drain()
    assert originated(fake) == []
    assert (await one(sessionmaker, CallbackTask, task_id)).status == "open"
