"""The customer archive over HTTP (R14) under R20: found by the full number however it is
written, never by part of it; every view and every edit is in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.customers.models import Customer
from tests.support.clock import FakeClock
from tests.support.desk import (T0, build_world, client, fast_passwords, make_app,
                                sign_in_roles)

__all__ = ["fast_passwords"]


@pytest.fixture
async def desk(sessionmaker, fast_passwords):
    app = make_app(sessionmaker, FakeClock(T0))
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent", "team_lead", "qa", "manager"])
    return app, world


async def audit_rows(sessionmaker, **where) -> list[AuditEntry]:
    async with sessionmaker() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(await session.scalars(query))


@pytest.mark.parametrize("spelling", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000",
                                      "8613800138000", "(+86) 138-0013-8000", " 138 0013 8000 "])
async def test_a_customer_is_found_by_any_spelling_of_the_number(desk, sessionmaker, spelling):
    app, world = desk  # R14
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.get("/api/customers", params={"phone": spelling})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["id"], body["phone"], body["phone_national"], body["masked"]) == (
        str(world.customer_c.id), "+8613800138000", "13800138000", False)
    [entry] = await audit_rows(sessionmaker, reason="search")  # R20: who, when, which, why
    assert (entry.actor, entry.role, entry.action, entry.entity, entry.entity_id, entry.at) == (
        "agent-1", "agent", "view", "customer", str(world.customer_c.id), T0)


@pytest.mark.parametrize(("phone", "status"), [("138001", 404), ("1380013800", 404),
                                               ("8000", 404), ("138****8000", 404),
                                               ("abc", 422), ("1001", 422)])
async def test_part_of_a_number_finds_nobody(desk, sessionmaker, phone, status):  # R20
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.get("/api/customers", params={"phone": phone})
    assert resp.status_code in (404, 422), resp.text
    assert "id" not in resp.json()
    assert await audit_rows(sessionmaker) == []


async def test_an_unknown_number_is_404_and_not_audited(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.get("/api/customers", params={"phone": "13700137000"})
    assert resp.status_code == 404
    assert await audit_rows(sessionmaker) == []


async def test_viewing_a_record_on_a_call_is_audited_with_the_call(desk, sessionmaker):
    app, world = desk  # R20: agent A is on C's call
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.get(f"/api/customers/{world.customer_c.id}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [call["id"] for call in body["calls"]] == [str(world.call_c.id)]  # R14: history
    assert [x["number"] for x in body["open_complaints"]] == [world.complaint_c.number]
    [entry] = await audit_rows(sessionmaker, entity_id=str(world.customer_c.id))
    assert (entry.actor, entry.action, entry.reason, entry.call_id) == (
        "agent-1", "view", "call", world.call_c.id)


async def test_each_view_is_a_row_of_its_own(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        for _ in range(3):
            assert (await c.get(f"/api/customers/{world.customer_d.id}")).status_code == 200
    rows = await audit_rows(sessionmaker, entity_id=str(world.customer_d.id))
    assert [(r.actor, r.reason) for r in rows] == [("manager-1", "record")] * 3


async def test_a_refused_view_is_not_audited_as_a_view(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        assert (await c.get(f"/api/customers/{world.customer_d.id}")).status_code == 403
    async with client(app, world.tokens["qa"]) as c:  # R20: inspectors have no need
        assert (await c.get(f"/api/customers/{world.customer_c.id}")).status_code == 403
        assert (await c.get("/api/customers/00000000-0000-0000-0000-000000000000")).status_code == 403
    assert await audit_rows(sessionmaker) == []


async def test_an_edit_is_stored_and_audited_with_the_fields_changed(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.patch(f"/api/customers/{world.customer_c.id}",
                             json={"name": " Wang Fang ", "address": "Road 1",
                                   "preferred_language": "yue", "phone": "138-0013-8000"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["name"], resp.json()["preferred_language"]) == ("Wang Fang", "yue")
    [entry] = await audit_rows(sessionmaker, action="update")  # R20
    assert (entry.actor, entry.reason, entry.call_id, entry.detail) == (
        "agent-1", "edit", world.call_c.id,
        {"fields": ["address", "name", "phone", "preferred_language"]})
    async with sessionmaker() as session:
        stored = await session.get(Customer, world.customer_c.id)
    assert (stored.name, stored.address, stored.phone) == ("Wang Fang", "Road 1", "+8613800138000")


async def test_an_agent_may_not_mark_an_important_customer(desk, sessionmaker):  # R11, R20
    app, world = desk
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.patch(f"/api/customers/{world.customer_c.id}", json={"important": True})
    assert resp.status_code == 403
    async with client(app, world.tokens["team_lead"]) as c:
        resp = await c.patch(f"/api/customers/{world.customer_c.id}", json={"important": True})
    assert resp.status_code == 200 and resp.json()["important"] is True
    assert [e.actor for e in await audit_rows(sessionmaker, action="update")] == ["team-lead-1"]


async def test_a_number_another_customer_has_is_a_conflict_not_an_error(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.patch(f"/api/customers/{world.customer_c.id}",
                             json={"phone": "139 0013 9000", "notes": "x"})
    assert resp.status_code == 409, resp.text
    assert resp.json()["error_id"] == "number-taken"
    assert await audit_rows(sessionmaker, action="update") == []


@pytest.mark.parametrize("body", [{"phone": "1001"}, {"preferred_language": "Chinese"},
                                  {"important": "very"}, {"id": "x"}])
async def test_an_invalid_edit_is_422_and_changes_nothing(desk, sessionmaker, body):
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.patch(f"/api/customers/{world.customer_c.id}", json=body)
    assert resp.status_code == 422
    assert await audit_rows(sessionmaker) == []
