"""One masking policy for every customer field (#20, R20): a caller's or a called-back customer's
number and name, and the numbers in a call's timeline, come back masked to a role that has no
duty to see them, in lists, in one call, in CSVs."""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.calls.models import Call, CallEvent
from tests.db.test_roles import prepare
from tests.support.desk import T0, client, fast_passwords

__all__ = ["fast_passwords"]

NUMBER, NATIONAL, NAME = "+8613712345678", "13712345678", "Sun Li"
SECRETS = ("12345678", "13712345678", "Sun Li", "Sun")


async def _call_back(sessionmaker, agent_id) -> uuid.UUID:
    """An outbound call-back to a customer, as app.calls.outbound writes it."""
    call_id = uuid.uuid4()
    async with sessionmaker() as session, session.begin():
        session.add(Call(id=call_id, channel_id=f"cb-{call_id}", direction="outbound",
                         caller_number=NUMBER, caller_name=NAME, dialed_number=NATIONAL,
                         language="zh", state="ended", started_at=T0 - timedelta(minutes=5),
                         last_seen_at=T0, ended_at=T0 - timedelta(minutes=4), agent_id=agent_id,
                         answered_at=T0 - timedelta(minutes=5)))
        await session.flush()
        session.add_all([
            CallEvent(call_id=call_id, seq=0, at=T0 - timedelta(minutes=5), from_state="",
                      trigger="dialing", to_state="ringing_agent",
                      detail={"task_id": str(uuid.uuid4()), "agent_id": str(agent_id)}),
            CallEvent(call_id=call_id, seq=1, at=T0 - timedelta(minutes=5), from_state="x",
                      trigger="customer_dialled", to_state="ringing_customer",
                      detail={"agent_id": str(agent_id), "dial": NATIONAL})])
    return call_id


def _leaks(body: str) -> list[str]:
    return [s for s in SECRETS if s in body]


async def test_a_quality_inspector_pages_through_calls_and_collects_no_number_or_name(
        sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker)
    call_id = await _call_back(sessionmaker, world.agent_a.id)
    async with client(app, world.tokens["qa"]) as c:
        listed = await c.get("/api/calls", params={"limit": 500})
        one = await c.get(f"/api/calls/{call_id}")
    assert listed.status_code == 200 and one.status_code == 200
    assert _leaks(listed.text) == [] and _leaks(one.text) == []
    item = next(i for i in listed.json()["items"] if i["id"] == str(call_id))
    assert (item["caller_number"], item["dialed_number"]) == ("137****5678", "137****5678")
    assert item["caller_name"] == "S**"
    assert [e["detail"].get("dial") for e in one.json()["timeline"]] == [None, "137****5678"]


async def test_an_agent_sees_the_callers_name_masked_in_their_list(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker)
    async with sessionmaker() as session, session.begin():
        call = await session.get(Call, world.call_c.id)
        call.caller_name, call.caller_number = NAME, NATIONAL
    async with client(app, world.tokens["agent"]) as c:
        listed = await c.get("/api/calls", params={"limit": 500})
    assert [i["id"] for i in listed.json()["items"]] == [str(world.call_c.id)]
    assert _leaks(listed.text) == []


async def test_a_manager_sees_the_customer_in_full(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker)
    call_id = await _call_back(sessionmaker, world.agent_a.id)
    async with client(app, world.tokens["manager"]) as c:
        one = (await c.get(f"/api/calls/{call_id}")).json()
    assert (one["caller_number"], one["caller_name"], one["dialed_number"]) == (
        NUMBER, NAME, NATIONAL)
    assert one["timeline"][1]["detail"]["dial"] == NATIONAL


async def test_an_agent_lists_call_backs_with_the_customers_name_masked_with_the_number(
        sessionmaker, fast_passwords):
    from app.callbacks import service as callbacks
    from app.callbacks.models import CallbackSource
    from app.customers.models import Customer

    app, world = await prepare(sessionmaker)
    async with sessionmaker() as session, session.begin():
        session.add(Customer(id=uuid.uuid4(), phone=NUMBER, name=NAME, address="", important=False,
                             notes=""))
        await callbacks.open_task(session=session, source=CallbackSource.voicemail,
                                  customer_number=NUMBER, language="zh", call_id=None,
                                  due_at=T0 + timedelta(days=1))
    async with client(app, world.tokens["agent"]) as c:
        listed = await c.get("/api/callbacks")
    assert listed.status_code == 200 and _leaks(listed.text) == [], listed.text
    assert [(t["customer_number"], t["customer_name"]) for t in listed.json()] == [
        ("137****5678", "S**")]
    async with client(app, world.tokens["manager"]) as c:
        assert [t["customer_name"] for t in (await c.get("/api/callbacks")).json()] == [NAME]
