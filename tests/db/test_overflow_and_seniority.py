"""Queue overflow to voicemail (R8) and senior-only routing of major complaints (R10), with the
call flow against real Postgres and the recording fake of the telephony port (tests/e2e does it
with the real Asterisk and SIPp phones)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.callbacks.models import CallbackTask, Voicemail
from app.calls.models import Call, CallEvent
from app.complaints.models import Complaint
from app.customers import service as customers
from routing.models import AgentRow, QueueRow
from tests.db.test_acd import CYCLE, add_agents, offered_legs, rows, to_queue
from tests.db.test_call_flow import DEMO, feed, make_stasis, prompt_done, said, settle, arrive
from tests.support import events as ev
from tests.support.fake_telephony import FakeTelephony

# The call flow runs many sessions at once: real commits on an emptied call log (conftest).
pytestmark = pytest.mark.committing

VOICEMAIL = {"kind": "voicemail", "max_seconds": 30}


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO,
                               ring_cycle_seconds=CYCLE, max_rings=3, closing_grace_seconds=0.01)
    yield stasis
    await stasis.close()


async def set_queue(sessionmaker, name: str = "general", **values) -> None:
    async with sessionmaker() as session, session.begin():
        queue = await session.scalar(select(QueueRow).where(QueueRow.name == name))
        for key, value in values.items():
            setattr(queue, key, value)


async def timeline(sessionmaker, channel_id: str) -> list[CallEvent]:
    [call] = await rows(sessionmaker, Call, channel_id=channel_id)
    async with sessionmaker() as session:
        return list(await session.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.seq)))


def recording_of(fake: FakeTelephony) -> tuple:
    return [c for c in fake.commands if c[0] == "record"][-1]


async def test_a_caller_who_waits_the_maximum_leaves_a_voicemail_stored_with_a_call_back_task(
        stasis, fake, sessionmaker, clock, tmp_path):
    await add_agents(sessionmaker, clock, "wang", state="paused")  # logged in, nobody free
    await set_queue(sessionmaker, max_wait_seconds=1, overflow=VOICEMAIL)
    await stasis.acd.start()
    await to_queue(stasis, fake, "v1", number="13700001111")
    call = stasis.flow.calls["v1"]
    assert call.state == "in_queue"
    await asyncio.sleep(1.2)  # the queue's maximum wait
    await stasis.drain()
    assert call.state == "voicemail" and stasis.acd.waiting == {}
    assert ("remove_from_bridge", f"hold-{call.id}", ("v1",)) in fake.commands  # music stops
    assert said(stasis, fake)[-1] == ["overflow_voicemail"]
    await prompt_done(stasis, "v1")  # then the beep and the recording (ARI, like the menu's)
    _, channel, name, max_seconds = recording_of(fake)
    assert (channel, max_seconds) == ("v1", 30) and name.startswith(f"voicemail-{call.id}")
    fake.recordings[name] = b"RIFF" + b"\1" * 6000
    await feed(stasis, ev.recording_finished("v1", name, duration=3))  # `#` ended it
    assert said(stasis, fake)[-1] == ["voicemail_saved", "thanks"]
    assert ("delete_stored_recording", name) in fake.commands
    await prompt_done(stasis, "v1")
    await settle(stasis)  # the grace for the caller to hang up first, then we do
    await feed(stasis, ev.stasis_end("v1"))
    [row] = await rows(sessionmaker, Call, channel_id="v1")
    assert (row.end_reason, row.queue) == ("overflow_voicemail", "general")
    [voicemail] = await rows(sessionmaker, Voicemail, call_id=row.id)
    [task] = await rows(sessionmaker, CallbackTask, call_id=row.id)
    assert voicemail.caller_number == "13700001111" and voicemail.size_bytes == 6004
    assert (tmp_path / "storage" / voicemail.path).read_bytes() == b"RIFF" + b"\1" * 6000
    assert (task.source, task.voicemail_id, task.customer_number) == (
        "voicemail", voicemail.id, "13700001111")
    events = await timeline(sessionmaker, "v1")
    overflow = next(e for e in events if e.trigger == "to_voicemail")
    assert (overflow.from_state, overflow.to_state) == ("in_queue", "voicemail")
    assert overflow.detail == {"queue": "general", "why": "waited the queue's maximum",
                               "overflow": "voicemail", "via": ["general"], "max_seconds": 30}
    assert [e.detail for e in events if e.trigger == "message_done"] == [{"message_left": True}]


async def test_a_queue_nobody_is_logged_in_to_sends_the_caller_to_its_voicemail_at_once(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="logged_out")
    await set_queue(sessionmaker, overflow={"kind": "voicemail"})
    await stasis.acd.start()
    await to_queue(stasis, fake, "v2")
    call = stasis.flow.calls["v2"]
    assert call.state == "voicemail"
    assert not [c for c in fake.commands if c[0] == "create_bridge"]  # no waiting for nobody
    await prompt_done(stasis, "v2")
    _, _, name, max_seconds = recording_of(fake)
    assert max_seconds == 120  # the default
    fake.recordings[name] = b"RIFF" + b"\2" * 9000
    await feed(stasis, ev.hangup_request("v2"), ev.stasis_end("v2"))  # hangs up while speaking
    [row] = await rows(sessionmaker, Call, channel_id="v2")
    assert (row.end_reason, row.ivr_outcome) == ("overflow_voicemail", "queue:general")
    [task] = await rows(sessionmaker, CallbackTask, call_id=row.id)
    assert task.source == "voicemail"
    [event] = [e for e in await timeline(sessionmaker, "v2") if e.trigger == "to_voicemail"]
    assert event.from_state == "in_ivr" and event.detail["why"] == "no agent is logged in for this queue"


async def test_a_caller_who_leaves_no_message_is_promised_a_call_back(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="logged_out")
    await set_queue(sessionmaker, overflow=VOICEMAIL)
    await stasis.acd.start()
    await to_queue(stasis, fake, "v3")
    await prompt_done(stasis, "v3")
    _, _, name, _ = recording_of(fake)
    fake.recordings[name] = b"RIFF" + b"\0" * 40  # a header: nothing said
    await feed(stasis, ev.recording_finished("v3", name, duration=0))
    assert said(stasis, fake)[-1] == ["queue_unavailable", "thanks"]
    await feed(stasis, ev.hangup_request("v3"), ev.stasis_end("v3"))
    [row] = await rows(sessionmaker, Call, channel_id="v3")
    assert row.end_reason == "overflow"
    [task] = await rows(sessionmaker, CallbackTask, call_id=row.id)
    assert (task.source, task.voicemail_id) == ("no_agent", None)
    assert await rows(sessionmaker, Voicemail, call_id=row.id) == []


async def test_a_caller_who_hangs_up_at_the_voicemail_prompt_is_promised_a_call_back(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="logged_out")
    await set_queue(sessionmaker, overflow=VOICEMAIL)
    await stasis.acd.start()
    await to_queue(stasis, fake, "v4")
    await feed(stasis, ev.hangup_request("v4"), ev.stasis_end("v4"))
    assert not [c for c in fake.commands if c[0] == "record"]
    [row] = await rows(sessionmaker, Call, channel_id="v4")
    assert row.end_reason == "overflow"
    [task] = await rows(sessionmaker, CallbackTask, call_id=row.id)
    assert (task.source, task.note) == ("no_agent", "left no message")


async def test_a_queue_nobody_is_logged_in_to_passes_the_caller_to_its_overflow_queue(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="backup", call_type="consultation", skills=["billing"],
                             max_wait_seconds=60, wrap_up_seconds=0))
        (await session.get(AgentRow, agents["wang"])).skills = {"billing": 3}
        (await session.scalar(select(QueueRow).where(QueueRow.name == "general"))).skills = [
            "products"]  # nobody logged in has the skill
    await set_queue(sessionmaker, overflow={"kind": "queue", "target": "backup"})
    await stasis.acd.start()
    await to_queue(stasis, fake, "v5")
    call = stasis.flow.calls["v5"]
    assert (call.state, call.queue) == ("in_queue", "backup")
    assert len(offered_legs(fake)) == 1
    [event] = [e for e in await timeline(sessionmaker, "v5") if e.trigger == "enqueued"]
    assert event.detail["queue"] == "backup" and event.detail["overflow_from"] == "general"
    await feed(stasis, ev.hangup_request("v5"), ev.stasis_end("v5"))


async def test_a_caller_who_waits_the_maximum_goes_on_to_the_overflow_queue_in_the_timeline(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao", state="paused")
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="backup", call_type="consultation", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0))
    await set_queue(sessionmaker, max_wait_seconds=1, overflow={"kind": "queue", "target": "backup"})
    await stasis.acd.start()
    await to_queue(stasis, fake, "v6")
    await asyncio.sleep(1.2)
    await stasis.drain()
    call = stasis.flow.calls["v6"]
    assert (call.state, call.queue) == ("in_queue", "backup")
    await stasis.acd.request_state(agents["zhao"], "ready", None)
    await stasis.drain()
    assert len(offered_legs(fake)) == 1
    [event] = [e for e in await timeline(sessionmaker, "v6") if e.trigger == "overflowed"]
    assert event.detail == {"from_queue": "general", "queue": "backup",
                            "why": "max_wait", "via": ["general"]}
    [row] = await rows(sessionmaker, Call, channel_id="v6")
    assert row.queue == "backup"
    await feed(stasis, ev.hangup_request("v6"), ev.stasis_end("v6"))


# -- R10: complaints marked major go to senior agents --------------------------------------------

async def agents_and_complaints_queue(sessionmaker, clock, *, senior_state: str = "ready"):
    agents = await add_agents(sessionmaker, clock, "wang", "li")  # wang: the longest idle
    async with sessionmaker() as session, session.begin():
        li = await session.get(AgentRow, agents["li"])
        li.level, li.state = "senior", senior_state
        (await session.get(AgentRow, agents["wang"])).level = "junior"
        session.add(QueueRow(name="complaints", call_type="complaint", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0))
    return agents


async def returning_caller(stasis, fake, sessionmaker, cid: str, number: str, severity: str):
    """A caller with an open complaint (stored with the number as the archive writes it): the
    menu takes them straight to the complaints queue."""
    async with sessionmaker() as session, session.begin():
        session.add(Complaint(number=f"8{number[-6:]}", customer_number=customers.normalise(number),
                              status="in_progress", severity=severity))
    await feed(stasis, arrive(fake, cid, number=number))
    await prompt_done(stasis, cid)  # greeting
    assert said(stasis, fake)[-1] == ["returning_complaint", "transferring"]
    await prompt_done(stasis, cid)
    await stasis.drain()


@pytest.mark.parametrize("severity", ["major", "crisis"])
async def test_a_caller_with_an_open_major_complaint_is_offered_to_a_senior_not_a_ready_junior(
        stasis, fake, sessionmaker, clock, severity):
    agents = await agents_and_complaints_queue(sessionmaker, clock)
    await stasis.acd.start()
    await returning_caller(stasis, fake, sessionmaker, "m1", "13611112222", severity)
    [originate] = [c for c in fake.commands if c[0] == "originate"]
    assert originate[1].endswith("li@127.0.0.1:5010")  # the senior, not wang who idled longer
    assert stasis.acd.agents[agents["wang"]].state == "ready"
    [event] = [e for e in await timeline(sessionmaker, "m1") if e.trigger == "enqueued"]
    assert event.detail["queue"] == "complaints"
    assert (event.detail["min_level"], event.detail["min_level_why"]) == (
        "senior", f"open complaint of severity {severity} (R10)")
    await feed(stasis, ev.hangup_request("m1"), ev.stasis_end("m1"))


async def test_a_general_complaint_goes_to_any_agent(stasis, fake, sessionmaker, clock):
    await agents_and_complaints_queue(sessionmaker, clock)
    await stasis.acd.start()
    await returning_caller(stasis, fake, sessionmaker, "m2", "13611113333", "general")
    [originate] = [c for c in fake.commands if c[0] == "originate"]
    assert originate[1].endswith("wang@127.0.0.1:5000")  # the longest idle
    [event] = [e for e in await timeline(sessionmaker, "m2") if e.trigger == "enqueued"]
    assert "min_level" not in event.detail
    await feed(stasis, ev.hangup_request("m2"), ev.stasis_end("m2"))


async def test_a_major_complaint_waits_for_a_senior_who_is_busy_and_juniors_are_never_offered_it(
        stasis, fake, sessionmaker, clock):
    agents = await agents_and_complaints_queue(sessionmaker, clock, senior_state="paused")
    await stasis.acd.start()
    await returning_caller(stasis, fake, sessionmaker, "m3", "13611114444", "major")
    assert stasis.flow.calls["m3"].state == "in_queue" and offered_legs(fake) == []
    await stasis.acd.request_state(agents["li"], "ready", None)
    await stasis.drain()
    [originate] = [c for c in fake.commands if c[0] == "originate"]
    assert originate[1].endswith("li@127.0.0.1:5010")
    await feed(stasis, ev.hangup_request("m3"), ev.stasis_end("m3"))


async def test_a_major_complaint_with_no_senior_logged_in_follows_the_queues_overflow(
        stasis, fake, sessionmaker, clock):
    await agents_and_complaints_queue(sessionmaker, clock, senior_state="logged_out")
    await set_queue(sessionmaker, "complaints", overflow=VOICEMAIL)
    await stasis.acd.start()
    await returning_caller(stasis, fake, sessionmaker, "m4", "13611115555", "major")
    assert stasis.flow.calls["m4"].state == "voicemail" and offered_legs(fake) == []
    [event] = [e for e in await timeline(sessionmaker, "m4") if e.trigger == "to_voicemail"]
    assert event.detail["why"] == "no senior agent is logged in for this queue"
    await feed(stasis, ev.hangup_request("m4"), ev.stasis_end("m4"))
