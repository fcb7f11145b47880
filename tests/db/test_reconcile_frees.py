"""R21: reconciliation frees everything a lost call held, and agents follow the calls Asterisk
still has, after a reconnect or a restart of the service (#15). Real Postgres and the recording
fake of the telephony port; tests/e2e does the same faults with the real Asterisk."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from app.ari.models import Bridge, Channel
from tests.db.test_acd import CYCLE, add_agents, agent_answers, offered_legs, to_queue
from tests.db.test_call_flow import DEMO, feed, make_stasis
from tests.support import events as ev

pytestmark = pytest.mark.committing


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    yield stasis
    await stasis.close()


async def talking(stasis, fake, sessionmaker, clock, cid: str):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    await to_queue(stasis, fake, cid)
    call = stasis.flow.calls[cid]
    leg = offered_legs(fake)[0]
    await agent_answers(stasis, fake, leg, call.id)
    assert stasis.acd.agents[agents["wang"]].state == "on_call"
    return agents, call, leg


async def test_a_call_that_ended_while_disconnected_frees_its_agent_its_leg_and_its_bridge(
        stasis, fake, sessionmaker, clock):
    agents, call, leg = await talking(stasis, fake, sessionmaker, clock, "f1")
    await stasis.on_disconnect()
    fake.channels.pop("f1")  # Asterisk restarted: the caller's channel is gone, the agent's not
    await stasis.reconcile()
    await stasis.drain()
    await asyncio.sleep(0.02)  # the queue's wrap-up of 0 s
    assert "f1" not in stasis.flow.calls and leg not in stasis.flow.legs
    assert ("hangup", leg) in fake.commands
    assert ("destroy_bridge", f"call-{call.id}") in fake.commands
    assert stasis.acd.agents[agents["wang"]].state == "ready"  # not on_call for ever


async def test_a_caller_waiting_when_the_channel_vanished_leaves_the_acds_queue(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", state="paused")
    await stasis.acd.start()
    await to_queue(stasis, fake, "f2")
    call = stasis.flow.calls["f2"]
    assert call.id in stasis.acd.waiting
    fake.channels.pop("f2")
    await stasis.reconcile()
    await stasis.drain()
    assert call.id not in stasis.acd.waiting  # no ghost in announcements and the wallboard
    assert ("destroy_bridge", f"hold-{call.id}") in fake.commands
    assert stasis.acd.agents[agents["wang"]].state == "paused"


async def test_after_a_restart_an_agent_still_talking_stays_on_call_with_that_call(
        stasis, fake, sessionmaker, clock, tmp_path):
    agents, call, leg = await talking(stasis, fake, sessionmaker, clock, "f3")
    await stasis.drain()
    await stasis.close()  # the service stops (kill -9 would lose at most the last 20 ms)
    fake.bridges[f"call-{call.id}"] = Bridge(id=f"call-{call.id}", bridge_type="mixing",
                                             channels=["f3", leg])
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    try:
        await second.acd.start()
        assert second.acd.agents[agents["wang"]].state == "on_call"  # not made ready blindly
        await second.reconcile()
        await second.drain()
        wang = second.acd.agents[agents["wang"]]
        assert (wang.state, wang.call_id) == ("on_call", call.id)
        assert second.flow.calls["f3"].agent_channel == leg
        offered = len(offered_legs(fake))
        await feed(second, ev.hangup_request("f3"), ev.stasis_end("f3"))  # the caller hangs up
        await asyncio.sleep(0.02)
        assert ("hangup", leg) in fake.commands
        assert second.acd.agents[agents["wang"]].state == "ready"  # after wrap-up (R13)
        assert len(offered_legs(fake)) == offered  # never offered a call while talking
    finally:
        await second.close()


async def test_after_a_restart_an_agent_whose_call_is_gone_goes_to_wrap_up_then_ready(
        stasis, fake, sessionmaker, clock, tmp_path):
    agents, call, leg = await talking(stasis, fake, sessionmaker, clock, "f4")
    await stasis.drain()
    await stasis.close()
    fake.channels.pop("f4")  # both ended while no service ran
    fake.channels.pop(leg)
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    try:
        await second.acd.start()
        await second.reconcile()
        await second.drain()
        await asyncio.sleep(0.02)
        assert second.acd.agents[agents["wang"]].state == "ready"
        assert "f4" not in second.flow.calls
    finally:
        await second.close()


async def test_an_agents_leg_nobody_owns_after_a_restart_is_hung_up(
        stasis, fake, sessionmaker, clock, tmp_path):
    agents = await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "f5")
    [leg] = offered_legs(fake)  # ringing when the service stops
    await stasis.drain()
    await stasis.close()
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=CYCLE)
    try:
        await second.acd.start()
        assert second.acd.agents[agents["wang"]].state == "ringing"
        await second.reconcile()
        await second.drain()
        assert ("hangup", leg) in fake.commands  # the old offer's phone stops ringing
        # The caller waits again and is offered afresh (to the agent now free).
        new = [x for x in offered_legs(fake) if x != leg]
        assert len(new) == 1 and second.flow.calls["f5"].offer.channel_id == new[0]
    finally:
        await second.close()


async def test_reconcile_keeps_trying_until_asterisk_and_postgres_answer(
        stasis, fake, sessionmaker, clock, monkeypatch):
    await stasis.acd.start()
    fails = {"list": 7}  # more than the five tries reconciliation used to give up after
    listed = fake.list_channels

    async def flaky():
        if fails["list"]:
            fails["list"] -= 1
            from app.ari.errors import AriUnavailable
            raise AriUnavailable("Asterisk is starting")
        return await listed()

    monkeypatch.setattr(fake, "list_channels", flaky)
    fake.channels["late"] = Channel.model_validate(ev.channel("late", state="Up"))
    await asyncio.wait_for(stasis.reconcile(retry_seconds=0.01), timeout=10)
    assert fails["list"] == 0


# -- callers don't need Postgres (#15 item 3) -----------------------------------------------------
async def test_a_caller_who_rings_while_postgres_is_down_reaches_the_agent_and_is_recorded_after(
        fake, database_url, sessionmaker, clock, tmp_path):
    """Postgres refuses connections from the caller's first ring to after the hang-up: the
    caller is answered, runs the menu, reaches the ready agent and talks; when Postgres is back
    the call, its timeline, its offer and the agent's state history are all stored."""
    from app.calls.models import Call, CallEvent
    from app.db import make_sessionmaker
    from routing.models import AgentStateChange, OfferRow
    from tests.support.pg_proxy import proxied_engine

    async with proxied_engine(database_url) as (engine, proxy):
        through = make_sessionmaker(engine)
        stasis = await make_stasis(fake, through, clock, tmp_path, DEMO,  # R1's default 15 s
                                   wrap_up_seconds=0, call_read_timeout_seconds=0.5,
                                   writer_drain_seconds=0.2, writer_retry_max_seconds=0.5)
        try:
            agents = await add_agents(through, clock, "wang")
            await stasis.acd.start()
            proxy.cut()  # from here Postgres cannot be reached
            await to_queue(stasis, fake, "pg1")
            call = stasis.flow.calls["pg1"]
            assert call.state == "in_queue"
            [leg] = offered_legs(fake)  # the ACD routes from memory
            await agent_answers(stasis, fake, leg, call.id)
            assert call.state == "connected"
            await feed(stasis, ev.hangup_request("pg1"), ev.stasis_end("pg1"))
            await asyncio.sleep(0.05)
            assert stasis.acd.agents[agents["wang"]].state == "ready"
            async with sessionmaker() as session:  # nothing of it could be stored yet
                assert await session.get(Call, call.id) is None
            proxy.restore()
            await stasis.drain()
            assert await stasis.acd._writer.drain()
        finally:
            await stasis.close()
    async with sessionmaker() as session:
        row = await session.get(Call, call.id)
        assert (row.end_reason, row.agent_id, row.queue) == ("completed", agents["wang"], "general")
        triggers = [e.trigger for e in await session.scalars(
            select(CallEvent).where(CallEvent.call_id == call.id).order_by(CallEvent.seq))]
        assert triggers[0] == "arrived" and triggers[-1] == "channel_gone"
        assert "agent_connected" in triggers
        [offer] = await session.scalars(select(OfferRow).where(OfferRow.call_id == call.id))
        assert offer.outcome == "answered"
        history = [(c.from_state, c.to_state) for c in await session.scalars(
            select(AgentStateChange).where(AgentStateChange.agent_id == agents["wang"])
            .order_by(AgentStateChange.id))]
        assert history == [("ready", "ringing"), ("ringing", "on_call"), ("on_call", "wrap_up"),
                           ("wrap_up", "ready")]


async def test_a_ringing_leg_that_vanished_while_disconnected_is_no_miss_of_the_agent(
        stasis, fake, sessionmaker, clock):
    """The agent answered while no service held the app, so Asterisk hung the leg up: at the
    reconnect it is gone. Not the agent's miss (R1 pauses only for those): ready again, and the
    call is offered afresh at once."""
    agents = await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "f6")
    [leg] = offered_legs(fake)
    await stasis.on_disconnect()
    fake.channels.pop(leg)
    await stasis.reconcile()
    await stasis.drain()
    wang = stasis.acd.agents[agents["wang"]]
    assert (wang.state, wang.misses_in_a_row) == ("ringing", 0)  # rung again, not paused
    again = [x for x in offered_legs(fake) if x != leg]
    assert len(again) == 1 and stasis.flow.calls["f6"].offer.channel_id == again[0]


async def test_an_agent_leg_answered_after_the_restart_for_no_live_call_is_hung_up(
        stasis, fake, sessionmaker, clock):
    """A stopped service dialled it; the phone is answered after the new one reconciled: the
    leg enters our app with no call to join. Hung up, so no agent talks to nobody (R21)."""
    await stasis.acd.start()
    leg = "agent-00000000-0000-0000-0000-000000000001"
    fake.channels[leg] = Channel(id=leg, state="Up")
    await feed(stasis, ev.raw("StasisStart", args=["agent", "f7-gone"],
                              channel=ev.channel(leg, state="Up")))
    assert ("hangup", leg) in fake.commands
    cb = "cba-00000000-0000-0000-0000-000000000002"  # a call-back's agent leg, likewise
    fake.channels[cb] = Channel(id=cb, state="Up")
    await feed(stasis, ev.raw("StasisStart", args=["callback-agent", "x"],
                              channel=ev.channel(cb, state="Up")))
    assert ("hangup", cb) in fake.commands and not stasis.flow.calls
