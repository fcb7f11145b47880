"""Complaint intake (R14) with first-contact ownership (R12) and the R15 deadlines; the archive
learns the caller's name and address; audited (R20); invalid input stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.complaints.models import Complaint
from app.customers.models import Customer
from tests.support.clock import FakeClock
from tests.support.desk import (T0, build_world, client, fast_passwords, make_app,
                                sign_in, sign_in_roles)

__all__ = ["fast_passwords"]
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def desk(sessionmaker, fast_passwords):
    app = make_app(sessionmaker, FakeClock(T0))
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent", "team_lead", "qa", "manager"])
    return app, world


def form(world, **changes):
    return {"call_id": str(world.call_c.id), "customer_name": "Wang Fang",
            "phone": "138 0013 8000", "address": "1 Station Road",
            "responsible_person": "courier Liu", "summary": "parcel two days late",
            "severity": "major", **changes}


async def count(sessionmaker, model) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_an_agent_takes_a_complaint_on_their_call(desk, sessionmaker):  # R14, R12, R15
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.post("/api/complaints", json=form(world))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["owner_agent_id"] == str(world.agent_a.id)  # R12: first contact owns it
    assert (body["customer_id"], body["customer_number"], body["call_id"]) == (
        str(world.customer_c.id), "+8613800138000", str(world.call_c.id))
    assert (body["status"], body["severity"], body["responsible_person"]) == (
        "received", "major", "courier Liu")
    assert body["number"].startswith("261123") and len(body["number"]) == 10  # R7: keyable
    # R15: dispatch within 60 minutes; handling within 5 working days (Monday 10:00 -> Monday)
    assert datetime.fromisoformat(body["dispatch_due_at"]) == T0 + timedelta(hours=1)
    assert datetime.fromisoformat(body["handling_due_at"]) == datetime(2026, 11, 30, 10, 0,
                                                                        tzinfo=SH)
    async with sessionmaker() as session:
        customer = await session.get(Customer, world.customer_c.id)
        [entry] = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "complaint")))
    assert (customer.name, customer.address) == ("Wang Fang", "1 Station Road")  # R14
    assert (entry.actor, entry.action, entry.entity_id, entry.call_id, entry.reason) == (
        "agent-1", "create", body["id"], world.call_c.id, "intake")


async def test_a_customer_name_and_address_already_there_are_kept(desk, sessionmaker):  # R14
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.post("/api/complaints", json=form(world, call_id=str(world.call_d.id),
                                                         phone="13900139000",
                                                         customer_name="Someone Else"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["customer_name"] == "Someone Else"
    async with sessionmaker() as session:
        customer = await session.get(Customer, world.customer_d.id)
    assert (customer.name, customer.address) == ("Zhao Lei", "Road 2")


async def test_a_complaint_on_a_friday_evening_is_due_the_next_friday(desk, sessionmaker):  # R15
    app, world = desk
    app.state.clock.current = datetime(2026, 11, 27, 20, 0, tzinfo=SH)
    async with client(app, await sign_in(app, "manager-1")) as c:  # a new shift, a new session
        resp = await c.post("/api/complaints", json=form(world))
    assert datetime.fromisoformat(resp.json()["handling_due_at"]) == datetime(
        2026, 12, 4, 20, 0, tzinfo=SH)


async def test_a_complaint_from_a_new_number_creates_the_customer(desk, sessionmaker):  # R14
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.post("/api/complaints", json=form(world, call_id=None,
                                                         phone="+86 137 0013 7000"))
    assert resp.status_code == 201, resp.text
    async with sessionmaker() as session:
        customer = await session.scalar(select(Customer).where(Customer.phone == "+8613700137000"))
    assert customer is not None and customer.name == "Wang Fang"
    assert resp.json()["customer_id"] == str(customer.id)


@pytest.mark.parametrize("changes", [
    {"phone": "1001"}, {"phone": "not a number"}, {"customer_name": "  "}, {"summary": ""},
    {"severity": "urgent"}, {"owner_agent_id": "00000000-0000-0000-0000-000000000000"},
    {"call_id": "nope"}])
async def test_invalid_intake_is_422_and_stores_nothing(desk, sessionmaker, changes):
    app, world = desk
    customers_before = await count(sessionmaker, Customer)
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.post("/api/complaints", json=form(world, **changes))
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "invalid-request"
    assert await count(sessionmaker, Complaint) == 1  # the world's own
    assert await count(sessionmaker, Customer) == customers_before
    assert await count(sessionmaker, AuditEntry) == 0
    async with sessionmaker() as session:
        assert (await session.get(Customer, world.customer_c.id)).name == ""


async def test_an_agent_takes_complaints_only_on_their_own_call(desk, sessionmaker):  # R20
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        not_theirs = await c.post("/api/complaints", json=form(world, call_id=str(world.call_d.id),
                                                               phone="13900139000"))
        no_call = await c.post("/api/complaints", json=form(world, call_id=None))
    assert (not_theirs.status_code, no_call.status_code) == (403, 403)
    assert await count(sessionmaker, Complaint) == 1


async def test_a_complaint_cannot_name_another_customer_than_the_calls(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.post("/api/complaints", json=form(
            world, customer_id=str(world.customer_d.id)))
    assert resp.status_code == 422 and resp.json()["error_id"] == "customer-mismatch"
    async with sessionmaker() as session:
        assert (await session.get(Customer, world.customer_d.id)).address == "Road 2"


async def test_a_team_lead_cannot_file_on_a_customer_outside_their_team(desk, sessionmaker):
    app, world = desk  # R20: customer D called agent B of team south
    async with client(app, world.tokens["team_lead"]) as c:
        resp = await c.post("/api/complaints", json=form(
            world, call_id=None, customer_id=str(world.customer_d.id), phone="13900139000"))
    assert resp.status_code == 403
    assert await count(sessionmaker, Complaint) == 1


async def test_an_agent_cannot_attach_a_stranger_to_a_call_without_a_customer(desk, sessionmaker):
    app, world = desk  # an anonymous caller: the call has no customer record
    from sqlalchemy import update
    from app.calls.models import Call
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Call).where(Call.id == world.call_c.id)
                              .values(customer_id=None, caller_number=None))
    async with client(app, world.tokens["agent"]) as c:
        stranger = await c.post("/api/complaints", json=form(
            world, customer_id=str(world.customer_d.id), phone="13700137000"))
        own_number = await c.post("/api/complaints", json=form(
            world, customer_id=str(world.customer_d.id), phone="13900139000"))
    assert stranger.status_code == 422
    assert own_number.status_code == 201, own_number.text


async def test_reading_a_complaint_is_audited(desk, sessionmaker):  # R20
    app, world = desk
    async with client(app, world.tokens["qa"]) as c:
        resp = await c.get(f"/api/complaints/{world.complaint_c.id}")
    assert resp.status_code == 200
    async with sessionmaker() as session:
        [entry] = list(await session.scalars(select(AuditEntry)))
    assert (entry.actor, entry.action, entry.entity, entry.reason) == (
        "qa-1", "view", "complaint", "record")
