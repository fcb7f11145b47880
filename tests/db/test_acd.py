"""The ACD with the call flow: queues, agents and the three-ring rule (R1, R9-R13), against real
Postgres and a recording fake of the telephony port (tests/e2e does it with SIPp phones)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.ari.models import Channel
from app.calls import service
from app.calls.models import Call
from routing.agent_state import AgentState
from routing.engine import Acd, OfferMade
from routing.models import AgentRow, AgentStateChange, OfferRow, QueueRow
from app.db import make_engine
from routing.ring_rule import OfferOutcome
from tests.db.test_call_flow import DEMO, arrive, feed, keys, make_stasis, prompt_done, said
from tests.support import events as ev
from tests.support.fake_telephony import FakeTelephony
from tests.support.settings import make_settings
from tests.support.tcp_proxy import CuttableProxy

# The call flow runs many sessions at once: real commits on an emptied call log (conftest).
pytestmark = pytest.mark.committing

CYCLE = 0.05  # seconds per ring in these tests: the limit is 3 x 0.05 s


async def add_agents(sessionmaker, clock, *names: str, state: str = "ready") -> dict[str, uuid.UUID]:
    ids = {}
    async with sessionmaker() as session, session.begin():
        for n, name in enumerate(names):
            row = AgentRow(name=name, extension=f"10{n}", level="intermediate",
                           skills={}, languages=["zh", "en"], contact=f"sip:{name}@127.0.0.1:50{n}0",
                           state=state, state_since=clock.now(),
                           ready_since=clock.now() - timedelta(minutes=10 - n))
            session.add(row)
            await session.flush()
            ids[name] = row.id
        session.add(QueueRow(name="general", call_type="consultation", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0))
    return ids


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    settings = dict(ring_cycle_seconds=CYCLE, max_rings=3)
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, **settings)
    yield stasis
    await stasis.close()


async def to_queue(stasis, fake, cid: str, number: str = "13800000001") -> None:
    await feed(stasis, arrive(fake, cid, number=number))
    await prompt_done(stasis, cid)           # greeting
    await keys(stasis, cid, "0")             # the agent key, during the main menu
    await prompt_done(stasis, cid)           # "putting you through"
    await stasis.drain()


def offered_legs(fake: FakeTelephony) -> list[str]:
    return [c[2] for c in fake.commands if c[0] == "originate"]


async def agent_answers(stasis, fake, leg: str, call_id, clock=None, ring_for: float = 0) -> None:
    """The agent's phone rings for `ring_for` seconds, then the agent picks up (the leg enters
    Stasis with the arguments it was originated with: agent or consult)."""
    fake.channels[leg] = Channel(id=leg, state="Up")
    await feed(stasis, ev.raw("ChannelStateChange", channel=ev.channel(leg, state="Ringing")))
    if clock is not None:
        clock.advance(ring_for)
    role = "consult" if leg.startswith("consult-") else "agent"
    await feed(stasis, ev.raw("StasisStart", args=[role, str(call_id)],
                              channel=ev.channel(leg, state="Up")))


async def rows(sessionmaker, model, **where):
    async with sessionmaker() as session:
        query = select(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return list(await session.scalars(query))


async def open_calls(sessionmaker, clock, count: int) -> list[uuid.UUID]:
    async with sessionmaker() as session, session.begin():
        return [(await service.open_call(session=session, channel_id=f"ch-{n}", caller_number=None,
                                         caller_name=None, dialed_number=None, language="zh",
                                         started_at=clock.now()))[0].id for n in range(count)]


async def history(sessionmaker, agent_id) -> list[tuple[str, str, str, str | None]]:
    """The agent's stored changes, in order: (from, event, to, reason)."""
    return [(c.from_state, c.event, c.to_state, c.reason) for c in sorted(
        await rows(sessionmaker, AgentStateChange, agent_id=agent_id), key=lambda c: c.id)]


async def started_acd(sessionmaker, clock, **settings) -> tuple[Acd, list[OfferMade]]:
    """An ACD without the call flow, started; the offers it makes."""
    offers: list[OfferMade] = []
    acd = Acd(settings=make_settings(**settings), sessionmaker=sessionmaker, clock=clock,
              notify=lambda channel, offer: offers.append(offer))
    await acd.start()
    return acd, offers


async def wait_in_general(acd: Acd, call_id: uuid.UUID) -> None:
    await acd.enqueue(call_id=call_id, channel_id=str(call_id), queue="general", language="zh",
                      priority=0, enqueued_at=acd.clock.now())


async def test_a_ready_agent_is_rung_answers_and_is_bridged_with_the_caller(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q1")
    call = stasis.flow.calls["q1"]
    assert call.state == "in_queue"
    hold = f"hold-{call.id}"  # R9: waiting alone with music, in a holding bridge
    assert ("create_bridge", hold, "holding") in fake.commands
    assert ("add_to_bridge", hold, ("q1",)) in fake.commands
    assert ("start_bridge_moh", hold, "default") in fake.commands
    [leg] = offered_legs(fake)
    assert [c for c in fake.commands if c[0] == "originate"][0][1] == \
        "PJSIP/trunk/sip:wang@127.0.0.1:5000"  # the longest idle agent
    await agent_answers(stasis, fake, leg, call.id, clock, ring_for=CYCLE / 2)  # first ring
    assert call.state == "connected"
    assert ("add_to_bridge", f"call-{call.id}", ("q1", leg)) in fake.commands
    assert ("remove_from_bridge", hold, ("q1",)) in fake.commands
    assert not [c for c in fake.commands if c[0] == "play_on_bridge"]  # answered in time
    assert stasis.acd.agents[agents["wang"]].state == "on_call"
    await feed(stasis, ev.hangup_request("q1"), ev.stasis_end("q1"))
    await asyncio.sleep(0.02)  # wrap-up of 0 s
    assert ("hangup", leg) in fake.commands  # the agent's leg goes with the caller
    row = (await rows(sessionmaker, Call, channel_id="q1"))[0]
    assert (row.end_reason, row.hangup_by, row.agent_id, row.queue) == (
        "completed", "caller", agents["wang"], "general")
    assert row.connected_at is not None and row.apology_due is False
    [offer] = await rows(sessionmaker, OfferRow, call_id=row.id)
    assert (offer.outcome, offer.rings) == ("answered", 1)
    assert stasis.acd.agents[agents["wang"]].state == "ready"  # after wrap-up (R13)
    changes = [(c.from_state, c.to_state) for c in
               sorted(await rows(sessionmaker, AgentStateChange, agent_id=agents["wang"]),
                      key=lambda c: c.id)]
    assert changes == [("ready", "ringing"), ("ringing", "on_call"), ("on_call", "wrap_up"),
                       ("wrap_up", "ready")]


async def test_an_agent_who_misses_the_ring_limit_is_paused_and_the_call_goes_to_the_next(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q2")
    call = stasis.flow.calls["q2"]
    first = offered_legs(fake)[0]
    await feed(stasis, ev.raw("ChannelStateChange", channel=ev.channel(first, state="Ringing")))
    clock.advance(3 * CYCLE)
    await asyncio.sleep(3 * CYCLE + 0.1)  # R1: three rings pass
    await stasis.drain()
    assert ("hangup", first) in fake.commands  # the ringing leg is cancelled
    wang = stasis.acd.agents[agents["wang"]]
    assert (wang.state, wang.state_reason) == ("paused", "missed_rings")
    second = offered_legs(fake)[1]
    assert [c for c in fake.commands if c[0] == "originate"][1][1].endswith("zhao@127.0.0.1:5010")
    clock.advance(20)  # the caller has now waited longer than the ring limit
    await agent_answers(stasis, fake, second, call.id)
    assert call.state == "connected"
    [apology] = [c for c in fake.commands if c[0] == "play_on_bridge"]
    assert apology[2] == ("sound:/srv/hotline/prompts/zh/apology",)  # R1: sorry to keep you waiting
    row = (await rows(sessionmaker, Call, channel_id="q2"))[0]
    assert row.apology_due is True and row.agent_id == agents["zhao"]
    offers = sorted(await rows(sessionmaker, OfferRow, call_id=row.id), key=lambda o: o.offered_at)
    assert [(o.agent_id, o.outcome) for o in offers] == [
        (agents["wang"], "no_answer"), (agents["zhao"], "answered")]
    assert offers[0].rings == 3
    assert await history(sessionmaker, agents["wang"]) == [  # the miss says what happened
        ("ready", "offer", "ringing", None), ("ringing", "miss", "paused", "missed_rings")]


@pytest.mark.parametrize(("cause", "outcome"), [(17, "busy"), (21, "rejected")])
async def test_a_busy_or_rejecting_phone_moves_the_call_on_at_once(
        stasis, fake, sessionmaker, clock, cause, outcome):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q3")
    first = offered_legs(fake)[0]
    await feed(stasis, ev.raw("ChannelDestroyed", cause=cause, cause_txt="x",
                              channel=ev.channel(first, state="Down")))
    assert len(offered_legs(fake)) == 2  # no waiting for the ring limit
    row = (await rows(sessionmaker, Call, channel_id="q3"))[0]
    [missed] = [o for o in await rows(sessionmaker, OfferRow, call_id=row.id)
                if o.agent_id == agents["wang"]]
    assert missed.outcome == outcome


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned_in_queue(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="paused")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q4")
    assert offered_legs(fake) == []
    await feed(stasis, ev.hangup_request("q4"), ev.stasis_end("q4"))
    row = (await rows(sessionmaker, Call, channel_id="q4"))[0]
    assert (row.end_reason, row.hangup_by, row.queue) == ("abandoned_in_queue", "caller", "general")
    assert stasis.acd.waiting == {}


async def test_a_queue_with_nobody_logged_in_promises_a_call_back_instead_of_a_wait(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="logged_out")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q7")
    assert stasis.flow.calls["q7"].state == "closing"
    assert said(stasis, fake)[-1] == ["queue_unavailable", "thanks"]
    assert stasis.acd.waiting == {}


async def test_a_caller_who_hangs_up_while_an_agent_rings_cancels_the_offer(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q5")
    [leg] = offered_legs(fake)
    await feed(stasis, ev.hangup_request("q5"), ev.stasis_end("q5"))
    assert ("hangup", leg) in fake.commands
    assert stasis.acd.agents[agents["wang"]].state == "ready"  # not paused: not the agent's fault
    row = (await rows(sessionmaker, Call, channel_id="q5"))[0]
    assert [e for _, e, _, _ in await history(sessionmaker, agents["wang"])] == [
        "offer", "offer_cancelled"]
    [offer] = await rows(sessionmaker, OfferRow, call_id=row.id)
    assert (row.end_reason, offer.outcome) == ("abandoned_in_queue", "cancelled")


async def test_an_agent_who_hangs_up_first_is_recorded_as_such(stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "q6")
    [leg] = offered_legs(fake)
    await agent_answers(stasis, fake, leg, stasis.flow.calls["q6"].id)
    await feed(stasis, ev.stasis_end(leg))
    assert ("hangup", "q6") in fake.commands
    await feed(stasis, ev.stasis_end("q6"))
    row = (await rows(sessionmaker, Call, channel_id="q6"))[0]
    assert (row.end_reason, row.hangup_by) == ("completed", "agent")  # R2


async def test_fifty_calls_at_once_never_give_an_agent_two_offers_nor_a_call_two_agents(
        sessionmaker, clock):
    await add_agents(sessionmaker, clock, *[f"a{n}" for n in range(10)])
    offers: list[tuple[str, OfferMade]] = []
    acd = Acd(settings=make_settings(wrap_up_seconds=0), sessionmaker=sessionmaker, clock=clock,
              notify=lambda channel, offer: offers.append((channel, offer)))
    await acd.start()
    calls = await open_calls(sessionmaker, clock, 50)
    await asyncio.gather(*[
        acd.enqueue(call_id=c, channel_id=f"ch-{n}", queue="general", language="zh", priority=0,
                    enqueued_at=clock.now() + timedelta(milliseconds=n))
        for n, c in enumerate(calls)])
    served: list[uuid.UUID] = []
    while len(served) < 50:
        assert offers, "calls are waiting but nothing was offered"
        batch, offers[:] = list(offers), []
        ringing = [o.agent_id for _, o in batch]
        assert len(ringing) == len(set(ringing))  # no agent rung twice at once
        assert all(acd.agents[a].state == "ringing" for a in ringing)
        for _, offer in batch:
            served.append(acd.agents[offer.agent_id].call_id)
        await asyncio.gather(*[acd.offer_ended(o.agent_id, OfferOutcome.answered) for _, o in batch])
        await asyncio.gather(*[acd.call_ended(o.agent_id, "general") for _, o in batch])
        for _ in range(200):  # wrap-up of 0 s, then the next offers (however busy the machine)
            await asyncio.sleep(0.025)
            if offers or len(served) == 50:
                break
    assert sorted(served) == sorted(calls)  # every call offered exactly once
    await acd.close()


async def test_after_a_restart_a_waiting_call_is_queued_again_and_reaches_an_agent(
        fake, sessionmaker, clock, tmp_path):
    agents = await add_agents(sessionmaker, clock, "wang", state="paused")
    # A ring limit (3 s) no busy machine outruns between the offer and the answer below.
    first = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=1.0)
    await first.acd.start()
    await to_queue(first, fake, "r1")
    await first.close()  # the service stops; the caller still hears music in Asterisk
    async with sessionmaker() as session, session.begin():  # meanwhile the agent came back
        row = await session.get(AgentRow, agents["wang"])
        row.state = "ready"
    second = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO, ring_cycle_seconds=1.0)
    await second.acd.start()
    await second.reconcile()
    await second.drain()
    [leg] = offered_legs(fake)
    await agent_answers(second, fake, leg, second.flow.calls["r1"].id)
    assert second.flow.calls["r1"].state == "connected"
    await second.close()


async def test_an_answer_missed_while_disconnected_still_connects_the_call(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "r2")
    [leg] = offered_legs(fake)
    await stasis.on_disconnect()
    fake.channels[leg] = Channel(id=leg, state="Up")  # answered while we could not see it
    await stasis.reconcile()
    await stasis.drain()
    assert stasis.flow.calls["r2"].state == "connected"
    assert ("add_to_bridge", f"call-{stasis.flow.calls['r2'].id}", ("r2", leg)) in fake.commands


async def test_a_waiting_caller_hears_their_position_over_the_music(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="paused")
    async with sessionmaker() as session, session.begin():
        queue = await session.scalar(select(QueueRow).where(QueueRow.name == "general"))
        queue.announce_every_seconds = 30
    await stasis.acd.start()
    await to_queue(stasis, fake, "a1")
    base = "sound:/srv/hotline/prompts/zh/"
    call_id = stasis.flow.calls["a1"].id
    [announcement] = [c for c in fake.commands if c[0] == "play_on_bridge"]
    assert announcement[1] == f"hold-{call_id}"  # on the holding bridge, not the caller's channel
    assert announcement[2] == tuple(base + p for p in (
        "please_hold", "queue_position", "digit_1", "queue_position_end"))  # nobody working
    assert not [c for c in fake.commands if c[0] == "play" and c[3].endswith("announce")]


async def test_an_offer_that_arrives_after_the_caller_left_frees_the_agent(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    call_id = uuid.uuid4()
    # The ACD chose the agent for a caller whose hang-up was handled just before.
    agent = stasis.acd.agents[agents["wang"]]
    agent.state = AgentState.ringing
    await stasis.on_event(ev.parsed(ev.stasis_end("gone-caller")))
    stasis.dispatcher.submit("gone-caller", OfferMade(channel_id="gone-caller", offer_id=call_id,
                                                      agent_id=agent.id, endpoint="PJSIP/trunk/sip:x@y",
                                                      queue="general"))
    await stasis.drain()
    assert agent.state == "ready"


async def connected(stasis, fake, clock, cid: str):
    await to_queue(stasis, fake, cid)
    leg = offered_legs(fake)[-1]
    await agent_answers(stasis, fake, leg, stasis.flow.calls[cid].id, clock, ring_for=CYCLE / 2)
    return stasis.flow.calls[cid], leg


async def transfer(stasis, cid: str, **target):
    from app.calls.items import Transfer

    done = asyncio.get_running_loop().create_future()
    stasis.dispatcher.submit(cid, Transfer(cid, target.get("queue"), target.get("agent_id"), done))
    await stasis.drain()
    return done


async def test_a_blind_transfer_to_another_queue_reaches_its_agent_and_the_first_stays_owner(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="complaints", call_type="complaint", skills=[],
                             max_wait_seconds=60, wrap_up_seconds=0))
        zhao = await session.get(AgentRow, agents["zhao"])
        zhao.state = "paused"  # only wang is free at first
        general = await session.scalar(select(QueueRow).where(QueueRow.name == "general"))
        general.wrap_up_seconds = 5  # wang does after-call work once transferred (R13)
    await stasis.acd.start()
    call, first_leg = await connected(stasis, fake, clock, "t1")
    assert call.agent_id == agents["wang"]
    await stasis.acd.request_state(agents["zhao"], "ready", None)
    done = await transfer(stasis, "t1", queue="complaints")
    assert done.result() is None
    assert ("hangup", first_leg) in fake.commands and call.state == "in_queue"
    second_leg = offered_legs(fake)[-1]
    assert second_leg != first_leg
    await agent_answers(stasis, fake, second_leg, call.id, clock, ring_for=CYCLE / 2)
    assert call.state == "connected" and call.agent_id == agents["zhao"]
    await feed(stasis, ev.stasis_end("t1"))
    row = (await rows(sessionmaker, Call, channel_id="t1"))[0]
    assert (row.agent_id, row.queue, row.end_reason) == (agents["wang"], "complaints", "completed")
    assert "transferred" in [e.trigger for e in (await service_get(sessionmaker, row.id)).events]
    offers = sorted(await rows(sessionmaker, OfferRow, call_id=row.id), key=lambda o: o.offered_at)
    assert [(o.agent_id, o.queue, o.outcome) for o in offers] == [
        (agents["wang"], "general", "answered"), (agents["zhao"], "complaints", "answered")]


async def test_a_blind_transfer_to_a_named_agent_rings_that_agent(stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao", "sun")
    await stasis.acd.start()
    call, _ = await connected(stasis, fake, clock, "t2")
    done = await transfer(stasis, "t2", agent_id=agents["sun"])
    assert done.result() is None
    assert [c for c in fake.commands if c[0] == "originate"][-1][1].endswith("sun@127.0.0.1:5020")


@pytest.mark.parametrize("target", ["not-connected", "busy-agent", "no-queue"])
async def test_a_transfer_that_cannot_be_done_is_refused_and_changes_nothing(
        stasis, fake, sessionmaker, clock, target):
    from app.calls.items import TransferRefused
    from routing.engine import AgentBusy

    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    if target == "not-connected":
        await stasis.acd.request_state(agents["wang"], "paused", "meal")
        await stasis.acd.request_state(agents["zhao"], "paused", "meal")
        await to_queue(stasis, fake, "t3")
        done, expected = await transfer(stasis, "t3", queue="general"), TransferRefused
    else:
        call, leg = await connected(stasis, fake, clock, "t3")
        await stasis.acd.request_state(agents["zhao"], "paused", "meal")
        done, expected = ((await transfer(stasis, "t3", agent_id=agents["zhao"]), AgentBusy)
                          if target == "busy-agent"
                          else (await transfer(stasis, "t3", queue="nowhere"), TransferRefused))
        assert call.state == "connected" and ("hangup", leg) not in fake.commands
    with pytest.raises(expected):
        done.result()


async def service_get(sessionmaker, call_id):
    async with sessionmaker() as session:
        return await service.get(session=session, call_id=call_id)


async def test_a_warm_transfer_consults_while_the_caller_holds_then_hands_the_caller_over(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    call, first_leg = await connected(stasis, fake, clock, "w1")
    done = await warm(stasis, "w1", "warm", agents["zhao"])
    assert done.result() is None
    bridge = f"call-{call.id}"
    assert ("remove_from_bridge", bridge, ("w1",)) in fake.commands  # the caller holds...
    assert ("start_moh", "w1", "default") in fake.commands            # ...with music
    consult_leg = [c for c in fake.commands if c[0] == "originate"][-1][2]
    assert consult_leg.startswith("consult-")
    await agent_answers(stasis, fake, consult_leg, call.id, clock, ring_for=CYCLE / 2)
    assert ("add_to_bridge", bridge, (consult_leg,)) in fake.commands  # the agents talk
    assert stasis.acd.agents[agents["zhao"]].state == "on_call"
    assert (await warm(stasis, "w1", "complete")).result() is None
    assert ("hangup", first_leg) in fake.commands
    assert ("add_to_bridge", bridge, ("w1",)) in fake.commands  # the caller joins zhao
    assert call.agent_id == agents["zhao"]
    await asyncio.sleep(0.02)
    assert stasis.acd.agents[agents["wang"]].state == "ready"  # after wrap-up
    await feed(stasis, ev.stasis_end("w1"))
    row = (await rows(sessionmaker, Call, channel_id="w1"))[0]
    assert (row.agent_id, row.end_reason) == (agents["wang"], "completed")  # owner stays (R12)
    triggers = [e.trigger for e in (await service_get(sessionmaker, row.id)).events]
    assert triggers[-4:] == ["consult_started", "consult_answered", "consult_completed",
                             "channel_gone"]


async def test_a_consulted_agent_who_does_not_answer_gives_the_caller_back(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    call, first_leg = await connected(stasis, fake, clock, "w2")
    await warm(stasis, "w2", "warm", agents["zhao"])
    consult_leg = [c for c in fake.commands if c[0] == "originate"][-1][2]
    clock.advance(3 * CYCLE)
    await asyncio.sleep(3 * CYCLE + 0.1)
    await stasis.drain()
    assert ("hangup", consult_leg) in fake.commands
    assert ("add_to_bridge", f"call-{call.id}", ("w2",)) in fake.commands  # back with wang
    zhao = stasis.acd.agents[agents["zhao"]]
    assert (zhao.state, zhao.state_reason) == ("paused", "missed_rings")
    assert call.agent_id == agents["wang"] and call.state == "connected"
    done = await warm(stasis, "w2", "complete")
    from app.calls.items import TransferRefused

    with pytest.raises(TransferRefused):
        done.result()


async def test_cancelling_a_warm_transfer_returns_to_the_caller(stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    call, _ = await connected(stasis, fake, clock, "w3")
    await warm(stasis, "w3", "warm", agents["zhao"])
    consult_leg = [c for c in fake.commands if c[0] == "originate"][-1][2]
    await agent_answers(stasis, fake, consult_leg, call.id, clock, ring_for=CYCLE / 2)
    assert (await warm(stasis, "w3", "cancel")).result() is None
    assert ("hangup", consult_leg) in fake.commands
    assert call.agent_id == agents["wang"]
    await asyncio.sleep(0.02)
    assert stasis.acd.agents[agents["zhao"]].state == "ready"


async def warm(stasis, cid: str, action: str, agent_id=None):
    from app.calls.items import Transfer

    done = asyncio.get_running_loop().create_future()
    stasis.dispatcher.submit(cid, Transfer(cid, None, agent_id, done, action))
    await stasis.drain()
    return done


async def test_an_important_customer_overtakes_a_caller_who_waited_longer(
        stasis, fake, sessionmaker, clock):
    from app.customers.models import Customer

    agents = await add_agents(sessionmaker, clock, "wang", state="paused")
    async with sessionmaker() as session, session.begin():
        session.add(Customer(phone="+8613911110000", name="VIP", important=True))
    await stasis.acd.start()
    await to_queue(stasis, fake, "plain", number="13822220000")
    clock.advance(30)
    await to_queue(stasis, fake, "vip", number="+86 139 1111 0000")  # R11, however written
    assert offered_legs(fake) == []
    await stasis.acd.request_state(agents["wang"], "ready", None)
    await stasis.drain()
    [leg] = offered_legs(fake)
    assert stasis.flow.legs[leg] == "vip"
    row = (await rows(sessionmaker, Call, channel_id="vip"))[0]
    assert row.priority == 10


async def test_an_escalated_call_goes_only_to_a_senior_agent(stasis, fake, sessionmaker, clock):
    from routing.engine import AgentTooJunior

    agents = await add_agents(sessionmaker, clock, "wang", "zhao", "li")
    async with sessionmaker() as session, session.begin():
        (await session.get(AgentRow, agents["li"])).level = "senior"
        (await session.get(AgentRow, agents["li"])).state = "paused"
    await stasis.acd.start()
    call, _ = await connected(stasis, fake, clock, "e1")  # with wang (intermediate)
    from app.calls.items import Transfer

    refused = asyncio.get_running_loop().create_future()
    stasis.dispatcher.submit("e1", Transfer("e1", None, agents["zhao"], refused, escalate=True))
    await stasis.drain()
    with pytest.raises(AgentTooJunior):
        refused.result()
    done = asyncio.get_running_loop().create_future()
    stasis.dispatcher.submit("e1", Transfer("e1", "general", None, done, escalate=True))
    await stasis.drain()
    assert done.result() is None
    legs_before = offered_legs(fake)
    assert stasis.acd.agents[agents["zhao"]].state == "ready"  # free, but not senior: not offered
    await stasis.acd.request_state(agents["li"], "ready", None)
    await stasis.drain()
    assert [c for c in fake.commands if c[0] == "originate"][-1][1].endswith("li@127.0.0.1:5020")
    assert len(offered_legs(fake)) == len(legs_before) + 1


async def test_a_caller_who_waits_the_queues_maximum_is_promised_a_call_back(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang", state="paused")
    async with sessionmaker() as session, session.begin():
        (await session.scalar(select(QueueRow).where(QueueRow.name == "general"))).max_wait_seconds = 1
    await stasis.acd.start()
    await to_queue(stasis, fake, "o1")
    await asyncio.sleep(1.2)
    await stasis.drain()
    assert said(stasis, fake)[-1] == ["queue_unavailable", "thanks"]
    assert stasis.acd.waiting == {}
    await feed(stasis, ev.stasis_end("o1"))
    row = (await rows(sessionmaker, Call, channel_id="o1"))[0]
    assert row.end_reason == "overflow"


# -- the agent table governs every change (#14) and routing never waits on Postgres (R21, #15) --

async def test_a_miss_under_the_max_no_answer_is_stored_as_tolerated_and_the_next_as_a_miss(
        sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    acd, offers = await started_acd(sessionmaker, clock, max_no_answer=2)
    first, second = await open_calls(sessionmaker, clock, 2)
    for call_id, outcome in ((first, OfferOutcome.no_answer), (second, OfferOutcome.busy)):
        await wait_in_general(acd, call_id)
        assert offers[-1].agent_id == agents["wang"]
        await acd.offer_ended(agents["wang"], outcome)
    await acd.close()
    wang = acd.agents[agents["wang"]]
    assert (wang.state, wang.state_reason, wang.misses_in_a_row) == ("paused", "missed_rings", 2)
    assert await history(sessionmaker, agents["wang"]) == [
        ("ready", "offer", "ringing", None),
        ("ringing", "miss_tolerated", "ready", "missed:no_answer"),  # R1: once is tolerated
        ("ready", "offer", "ringing", None),
        ("ringing", "miss", "paused", "missed_rings")]  # the second in a row pauses


async def test_at_start_agents_keep_their_states_until_lined_up_with_the_live_calls(
        sessionmaker, clock):  # R21
    agents = await add_agents(sessionmaker, clock, "ringing", "on_call", "talking", "wrap_up",
                              "paused")
    async with sessionmaker() as session, session.begin():
        for name, agent_id in agents.items():
            (await session.get(AgentRow, agent_id)).state = "on_call" if name == "talking" else name
    acd, _ = await started_acd(sessionmaker, clock, wrap_up_seconds=1)
    assert {name: acd.agents[a].state for name, a in agents.items()} == {
        "ringing": "ringing", "on_call": "on_call", "talking": "on_call", "wrap_up": "wrap_up",
        "paused": "paused"}  # nothing decided before the calls are known
    [live] = await open_calls(sessionmaker, clock, 1)
    await acd.line_up({agents["talking"]: live})  # Asterisk still has this one's call
    for _ in range(200):  # wrap-up of the settings' seconds, then ready
        await asyncio.sleep(0.025)
        if acd.agents[agents["on_call"]].state == "ready":
            break
    await acd.close()
    assert (acd.agents[agents["talking"]].state, acd.agents[agents["talking"]].call_id) == (
        "on_call", live)
    assert acd.agents[agents["paused"]].state == "paused"
    assert await history(sessionmaker, agents["ringing"]) == [
        ("ringing", "call_gone", "ready", "call_gone")]
    assert await history(sessionmaker, agents["on_call"]) == [
        ("on_call", "call_ended", "wrap_up", "call_gone"), ("wrap_up", "wrap_up_done", "ready", None)]
    assert [h[1] for h in await history(sessionmaker, agents["wrap_up"])] == ["wrap_up_done"]
    assert await history(sessionmaker, agents["paused"]) == []


async def test_an_agent_in_wrap_up_is_ready_when_it_ends_though_agents_were_reloaded(
        sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    acd, _ = await started_acd(sessionmaker, clock, wrap_up_seconds=1)
    [call_id] = await open_calls(sessionmaker, clock, 1)
    await wait_in_general(acd, call_id)
    await acd.offer_ended(agents["wang"], OfferOutcome.answered)
    await acd.call_ended(agents["wang"], None)  # no queue: the settings' wrap-up, 1 s
    await acd.reload_agents()  # an admin saved an agent meanwhile: new LiveAgents
    assert acd.agents[agents["wang"]].state == "wrap_up"
    for _ in range(200):  # the wrap-up timer ends (however busy the machine)
        await asyncio.sleep(0.025)
        if acd.agents[agents["wang"]].state != "wrap_up":
            break
    assert acd.agents[agents["wang"]].state == "ready"
    await acd.close()
    assert [event for _, event, _, _ in await history(sessionmaker, agents["wang"])] == [
        "offer", "answer", "call_ended", "wrap_up_done"]


class HangingProxy(CuttableProxy):
    """Postgres that stops answering without an error: while hung, no byte is passed on either
    way and new connections wait; the connections stay open."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def _serve(self, reader, writer) -> None:
        await self._flowing.wait()
        await super()._serve(reader, writer)

    def hang(self) -> None:
        self._flowing.clear()
        for writer in self._writers:
            writer.transport.pause_reading()

    def recover(self) -> None:
        self._flowing.set()
        for writer in self._writers:
            writer.transport.resume_reading()


async def test_while_postgres_hangs_the_acd_still_offers_calls_and_answers_agents(
        sessionmaker, clock, database_url):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    [call_id] = await open_calls(sessionmaker, clock, 1)
    url = make_url(database_url)
    proxy = HangingProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port)
                         .render_as_string(hide_password=False))
    offers: list[OfferMade] = []
    acd = Acd(settings=make_settings(), sessionmaker=async_sessionmaker(engine), clock=clock,
              notify=lambda channel, offer: offers.append(offer))
    try:
        await acd.start()  # loading the agents needs Postgres
        proxy.hang()
        # R21: routing answers from memory; waiting on Postgres would never return here.
        paused = await asyncio.wait_for(acd.request_state(agents["wang"], "paused", "meal"), 5)
        assert paused == "paused"
        await asyncio.wait_for(wait_in_general(acd, call_id), 5)
        assert [o.agent_id for o in offers] == [agents["zhao"]]
        await asyncio.wait_for(acd.offer_ended(agents["zhao"], OfferOutcome.answered), 5)
        assert acd.live_state(agents["zhao"])["state"] == "on_call"
        assert await history(sessionmaker, agents["zhao"]) == []  # Postgres really hangs
        proxy.recover()
        await asyncio.wait_for(acd.close(), 30)  # then everything is stored, in order
    finally:
        proxy.recover()
        await engine.dispose()
        await proxy.close()
    assert await history(sessionmaker, agents["wang"]) == [("ready", "pause", "paused", "meal")]
    assert [e for _, e, _, _ in await history(sessionmaker, agents["zhao"])] == ["offer", "answer"]
