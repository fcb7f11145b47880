"""The live call's parts one at a time (#14), each driven directly on a live call against the
recording fake of the telephony port and real Postgres: queue waiting, offers, transfers and
messages. (The router that feeds them ARI events is tested through `CallStasis` in
test_call_flow.py, test_acd.py and the rest; the survey part is tested without Postgres.)"""

from __future__ import annotations


import pytest

from app.ari.errors import AriUnavailable
from app.callbacks.models import CallbackTask, Voicemail
from app.calls import service
from app.calls.items import LiveCall, Transfer, TransferRefused
from app.calls.state import CallState, ConsultState, MessageState, OfferState
from routing import overflow
from routing.models import OfferRow
from routing.ring_rule import OfferOutcome
from tests.db.test_acd import CYCLE, add_agents, agent_answers, offered_legs, rows, to_queue
from tests.db.test_call_flow import DEMO, make_stasis
from tests.support.fake_telephony import wav_bytes

pytestmark = pytest.mark.committing


@pytest.fixture
async def stasis(fake, sessionmaker, clock, tmp_path):
    stasis = await make_stasis(fake, sessionmaker, clock, tmp_path, DEMO,
                               ring_cycle_seconds=CYCLE, max_rings=3)
    yield stasis
    await stasis.close()


async def live_call(sessionmaker, clock, channel: str, state=CallState.in_ivr) -> LiveCall:
    """A live call with its row (what the messages and tasks it leaves refer to)."""
    async with sessionmaker() as session, session.begin():
        row, seq = await service.open_call(
            session=session, channel_id=channel, caller_number="13800000009", caller_name=None,
            dialed_number="95000", language="zh", started_at=clock.now())
    return LiveCall(id=row.id, channel_id=channel, state=state, language="zh", seq=seq,
                    last_seen_at=clock.now(), caller_number="13800000009")


# -- messages (R8) ---------------------------------------------------------------------------
async def test_the_overflows_message_is_prompted_recorded_and_kept_if_the_caller_hangs_up(
        stasis, fake, sessionmaker, clock):
    voicemail, call = stasis.flow.voicemail, await live_call(sessionmaker, clock, "vm1")
    routed = overflow.Routed(decision=overflow.ToVoicemail(max_seconds=30), why=overflow.Why.max_wait)
    await voicemail.to_overflow(call, "general", routed, "waited the queue's maximum")
    assert (call.state, call.message) == (CallState.voicemail, MessageState.prompting)
    assert fake.commands[-1][3] == f"{call.id}.voicemail"
    assert voicemail.prompt_done(call, f"{call.id}.voicemail")
    await voicemail.after_prompt(call)
    assert call.message is MessageState.recording
    assert fake.commands[-1] == ("record", "vm1", f"voicemail-{call.id}-overflow", 30)
    fake.recordings[call.recording] = wav_bytes(2.0)
    await voicemail.release(call)  # the caller hangs up while speaking: the message is kept
    assert call.message is MessageState.saved and call.left_message
    await stasis.drain()  # its record is written behind with the call log (R21)
    [kept] = await rows(sessionmaker, Voicemail, call_id=call.id)
    assert kept.duration_seconds is None and kept.size_bytes == len(wav_bytes(2.0))
    assert [t.source for t in await rows(sessionmaker, CallbackTask, call_id=call.id)] == ["voicemail"]


async def test_a_message_with_nothing_said_is_not_kept_and_the_overflow_promises_a_call_back(
        stasis, fake, sessionmaker, clock):
    voicemail, call = stasis.flow.voicemail, await live_call(sessionmaker, clock, "vm2")
    routed = overflow.Routed(decision=overflow.ToVoicemail(), why=overflow.Why.max_wait)
    await voicemail.to_overflow(call, "general", routed, "why")
    await voicemail.after_prompt(call)
    fake.recordings[call.recording] = wav_bytes(0)  # a WAV header and no sound
    saved = await voicemail.finished(call, 0, recorded=True)
    assert saved is False and call.message is MessageState.empty
    await voicemail.overflow_done(call, saved)
    assert call.state is CallState.closing
    assert fake.commands[-1][2][0].endswith("/zh/queue_unavailable")
    await stasis.drain()
    assert await rows(sessionmaker, Voicemail, call_id=call.id) == []
    [task] = await rows(sessionmaker, CallbackTask, call_id=call.id)
    assert (task.source, task.note) == ("no_agent", "left no message")


# -- offers and waiting (R1, R9) ---------------------------------------------------------------
async def test_a_phone_that_cannot_be_dialled_is_a_miss_and_the_call_goes_to_the_next_agent(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    originate = fake.originate

    async def fails_once(*args, **kw):
        fake.originate = originate
        await originate(*args, **kw)
        raise AriUnavailable("the phone's trunk is down")

    fake.originate = fails_once
    await to_queue(stasis, fake, "p1")
    call = stasis.flow.calls["p1"]
    first, second = offered_legs(fake)[:2]
    assert call.offer is not None and call.offer.channel_id == second
    assert agents["wang"] in call.excluded  # the agent who missed it is not offered it again
    await stasis.drain()
    [missed] = await rows(sessionmaker, OfferRow, channel_id=first)
    assert missed.outcome == "busy"


async def test_an_offer_rings_once_and_its_ring_limit_is_counted_from_the_first_ring(
        stasis, fake, sessionmaker, clock):
    await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "p2")
    call = stasis.flow.calls["p2"]
    offer = call.offer
    assert offer.state is OfferState.dialling
    await stasis.flow.offers.rings(call, offer, "ring", object())
    first = offer.ringing_at
    clock.advance(1)
    await stasis.flow.offers.rings(call, offer, "ring", object())  # a second 180: no new start
    assert offer.state is OfferState.ringing and offer.ringing_at == first
    clock.advance(10)  # our own latency past the limit is no ring (R1)
    await stasis.flow.waiting.missed(call, OfferOutcome.no_answer)
    await stasis.drain()
    [row] = await rows(sessionmaker, OfferRow, id=offer.id)
    assert (row.outcome, row.rings, row.ring_seconds) == ("no_answer", 3, pytest.approx(3 * CYCLE))
    assert offer.state is OfferState.ended and call.offer is None  # alone: nobody else to ring


async def test_a_caller_who_hangs_up_while_ringing_frees_the_agent_and_the_holding_bridge(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang")
    await stasis.acd.start()
    await to_queue(stasis, fake, "p3")
    call = stasis.flow.calls["p3"]
    leg = call.offer.channel_id
    await stasis.flow.waiting.release(call)
    await stasis.flow.offers.release(call)
    assert ("hangup", leg) in fake.commands and ("destroy_bridge", f"hold-{call.id}") in fake.commands
    assert stasis.acd.agents[agents["wang"]].state == "ready"
    assert call.id not in stasis.acd.waiting and leg not in stasis.flow.legs


# -- transfers (R12) ----------------------------------------------------------------------------
async def test_transfers_are_refused_when_the_call_is_not_with_an_agent(stasis, sessionmaker, clock):
    transfers = stasis.flow.transfers
    call = await live_call(sessionmaker, clock, "t0", state=CallState.in_queue)
    for action in ("blind", "warm"):
        req = Transfer("t0", "general", None, done=None, action=action)
        with pytest.raises(TransferRefused, match="not with an agent"):
            await transfers.request(call, req)
    with pytest.raises(TransferRefused, match="not answered"):
        await transfers.complete(call, None)
    with pytest.raises(TransferRefused, match="no consultation"):
        await transfers.cancel(call, None)


async def test_a_colleague_who_does_not_answer_a_consultation_sends_the_caller_back(
        stasis, fake, sessionmaker, clock):
    agents = await add_agents(sessionmaker, clock, "wang", "zhao")
    await stasis.acd.start()
    await to_queue(stasis, fake, "t1")
    call = stasis.flow.calls["t1"]
    await agent_answers(stasis, fake, offered_legs(fake)[0], call.id)
    assert call.state is CallState.connected
    req = Transfer("t1", None, agents["zhao"], done=None, action="warm")
    await stasis.flow.transfers.request(call, req)
    consult = call.consult
    assert consult.state is ConsultState.ringing and ("start_moh", "t1", "default") in fake.commands
    assert stasis.acd.agents[agents["zhao"]].state == "ringing"
    with pytest.raises(TransferRefused, match="going on already"):
        await stasis.flow.transfers.request(call, req)
    await stasis.flow.transfers.ring_limit(call, consult.offer.id)  # R1 for the colleague too
    await stasis.drain()
    assert call.consult is None and consult.state is ConsultState.cancelled
    assert fake.commands[-1] == ("add_to_bridge", f"call-{call.id}", ("t1",))  # back with wang
    assert stasis.acd.agents[agents["zhao"]].state == "paused"  # missed: paused (R1)
    [row] = await rows(sessionmaker, OfferRow, id=consult.offer.id)
    assert row.outcome == "no_answer"
