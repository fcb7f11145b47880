"""R15's workflow over HTTP against Postgres: transitions with their timeline and audit, 409 and
422 storing nothing, R12's owner changed by team leads and managers only, the overdue list by
role, the notice of a major complaint reaching connected screens, the department webhook."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.callbacks.models import CallbackTask
from app.complaints import service
from app.complaints.alerts import Webhooks
from app.complaints.models import Complaint, ComplaintEvent, Department
from app.desk.messages import Notice
from tests.support.clock import FakeClock
from tests.support.desk import (T0, build_world, client, create_user, fast_passwords, make_app,
                                sign_in, sign_in_roles)

__all__ = ["fast_passwords"]


@pytest.fixture
async def desk(sessionmaker, fast_passwords):
    clock = FakeClock(T0)
    app = make_app(sessionmaker, clock)
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent", "team_lead", "qa", "manager"])
    head = await create_user(app, "head-parcels", "manager")
    async with sessionmaker() as session, session.begin():
        department = Department(name="Parcels", head_user_id=uuid.UUID(head["id"]),
                                webhook_url="http://hooks.test/parcels")
        session.add(department)
    app.state.test_clock, app.state.department, app.state.head = clock, department, head
    return app, world


async def counts(sessionmaker) -> tuple[int, int]:
    async with sessionmaker() as session:
        return (await session.scalar(select(func.count()).select_from(ComplaintEvent)),
                await session.scalar(select(func.count()).select_from(AuditEntry)))


def dispatch(app, **changes):
    return {"to": "dispatched", "note": "to parcels", "department_id": str(app.state.department.id),
            "assignee_user_id": app.state.head["id"], **changes}


async def test_a_team_lead_dispatches_their_teams_complaint_and_the_timeline_shows_it(
        desk, sessionmaker):  # R15
    app, world = desk
    url = f"/api/complaints/{world.complaint_c.id}"
    async with client(app, world.tokens["team_lead"]) as c:
        resp = await c.post(f"{url}/transitions", json=dispatch(app))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        timeline = (await c.get(f"{url}/timeline")).json()
    assert (body["status"], body["department_id"], body["assignee_user_id"]) == (
        "dispatched", str(app.state.department.id), app.state.head["id"])
    assert body["next_states"] == ["in_progress"]
    assert [d["name"] for d in body["deadlines"]] == ["handling"]
    [event] = timeline  # the world's complaint has no intake event
    assert (event["event"], event["from_status"], event["to_status"], event["actor"],
            event["note"]) == ("dispatch", "received", "dispatched", "team-lead-1", "to parcels")
    async with sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.reason == "workflow"))
    assert (entry.actor, entry.entity_id, entry.detail["from"], entry.detail["to"]) == (
        "team-lead-1", str(world.complaint_c.id), "received", "dispatched")


@pytest.mark.parametrize("to", ["closed", "resolved", "received", "called_back", "nonsense"])
async def test_an_invalid_transition_is_409_and_stores_nothing(desk, sessionmaker, to):  # R15
    app, world = desk
    before = await counts(sessionmaker)
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.post(f"/api/complaints/{world.complaint_c.id}/transitions",
                            json={"to": to, "note": "x"})
    assert resp.status_code == 409, resp.text
    assert resp.json()["error_id"] == "invalid-transition"
    assert await counts(sessionmaker) == before
    async with sessionmaker() as session:
        assert (await session.get(Complaint, world.complaint_c.id)).status == "received"


async def test_dispatching_needs_a_department_and_an_assignee(desk, sessionmaker):  # R15
    app, world = desk
    before = await counts(sessionmaker)
    async with client(app, world.tokens["manager"]) as c:
        resp = await c.post(f"/api/complaints/{world.complaint_c.id}/transitions",
                            json={"to": "dispatched"})
        assert resp.status_code == 422, resp.text
        resp = await c.post(f"/api/complaints/{world.complaint_c.id}/transitions",
                            json=dispatch(app, department_id=str(uuid.uuid4())))
        assert resp.status_code == 404, resp.text
    assert await counts(sessionmaker) == before


async def test_the_whole_workflow_through_the_api_with_the_call_back(desk, sessionmaker):  # R15
    app, world = desk
    url = f"/api/complaints/{world.complaint_c.id}/transitions"
    async with client(app, world.tokens["manager"]) as c:
        assert (await c.post(url, json=dispatch(app))).status_code == 200
        assert (await c.post(url, json={"to": "in_progress"})).status_code == 200
        app.state.test_clock.advance(3600)
        resolved = (await c.post(url, json={"to": "resolved", "note": "refunded"})).json()
        # Monday 11:00 resolved: called back by Thursday 11:00, at the latest next Monday 11:00
        assert datetime.fromisoformat(resolved["callback_due_at"]) == T0 + timedelta(days=3, hours=1)
        assert datetime.fromisoformat(resolved["callback_deadline_at"]) == T0 + timedelta(days=7,
                                                                                         hours=1)
        early = await c.post(url, json={"to": "closed_unreachable"})
        assert (early.status_code, early.json()["error_id"]) == (409, "callback-attempts-remaining")
        async with sessionmaker() as session, session.begin():
            await service.callback_attempted(session=session, complaint_id=world.complaint_c.id,
                                             outcome="answered",
                                             at=app.state.test_clock.advance(1800))
        app.state.test_clock.advance(60)
        closed = (await c.post(url, json={"to": "closed"})).json()
        timeline = (await c.get(f"/api/complaints/{world.complaint_c.id}/timeline")).json()
    assert closed["status"] == "closed" and closed["next_states"] == ["reopened"]
    assert [e["event"] for e in timeline] == ["dispatch", "start", "resolve", "callback_attempt",
                                              "call_back", "close"]


async def test_resolving_opens_the_call_back_task_at_once_and_reopening_cancels_it(
        desk, sessionmaker):  # R15: the task exists without anyone reading the call-back list
    app, world = desk
    url = f"/api/complaints/{world.complaint_c.id}/transitions"

    async def tasks() -> list[tuple[str, str]]:
        async with sessionmaker() as session:
            rows = await session.execute(select(CallbackTask.status, CallbackTask.source).where(
                CallbackTask.complaint_id == world.complaint_c.id).order_by(CallbackTask.created_at))
            return [tuple(r) for r in rows]

    async with client(app, world.tokens["manager"]) as c:
        assert (await c.post(url, json=dispatch(app))).status_code == 200
        assert (await c.post(url, json={"to": "in_progress"})).status_code == 200
        assert await tasks() == []
        resolved = (await c.post(url, json={"to": "resolved", "note": "refunded"})).json()
        assert await tasks() == [("open", "complaint")]
        async with sessionmaker() as session:
            due = await session.scalar(select(CallbackTask.due_at).where(
                CallbackTask.complaint_id == world.complaint_c.id))
        assert due == datetime.fromisoformat(resolved["callback_due_at"])
        assert (await c.post(url, json={"to": "reopened", "note": "not fixed"})).status_code == 200
        assert await tasks() == [("cancelled", "complaint")]


async def test_only_team_leads_and_managers_reassign_the_owner(desk, sessionmaker):  # R12
    app, world = desk
    url = f"/api/complaints/{world.complaint_c.id}/owner"
    to_e, to_b = {"owner_agent_id": str(world.agent_e.id)}, {"owner_agent_id": str(world.agent_b.id)}
    async with client(app, world.tokens["agent"]) as c:
        assert (await c.patch(url, json=to_e)).status_code == 403  # not even the owner
    async with client(app, world.tokens["qa"]) as c:
        assert (await c.patch(url, json=to_e)).status_code == 403
    async with client(app, world.tokens["team_lead"]) as c:
        assert (await c.patch(url, json=to_b)).status_code == 403  # B is in team south
        resp = await c.patch(url, json={**to_e, "note": "A is on leave"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["owner_agent_id"] == str(world.agent_e.id)
    async with client(app, world.tokens["manager"]) as c:
        assert (await c.patch(url, json=to_b)).status_code == 200
        timeline = (await c.get(f"/api/complaints/{world.complaint_c.id}/timeline")).json()
    assert [(e["event"], e["actor"], e["detail"]["to"]) for e in timeline] == [
        ("owner", "team-lead-1", str(world.agent_e.id)), ("owner", "manager-1", str(world.agent_b.id))]
    async with sessionmaker() as session:
        reasons = list(await session.scalars(select(AuditEntry.actor).where(
            AuditEntry.reason == "owner").order_by(AuditEntry.id)))
    assert reasons == ["team-lead-1", "manager-1"]


async def test_the_overdue_list_shows_the_team_leads_teams_complaints_first(
        desk, sessionmaker, fast_passwords):  # R15
    app, world = desk
    async with sessionmaker() as session, session.begin():
        fresh = Complaint(number="2611230002", customer_number="+8613800138000",
                          status="received", severity="general", summary="fresh",
                          owner_agent_id=world.agent_a.id, created_at=T0 + timedelta(minutes=59),
                          dispatch_due_at=T0 + timedelta(minutes=119),
                          handling_due_at=T0 + timedelta(days=7))
        south = Complaint(number="2611230003", customer_number="+8613900139000",
                          status="received", severity="general", summary="south's",
                          owner_agent_id=world.agent_b.id, created_at=T0,
                          dispatch_due_at=T0 + timedelta(hours=1),
                          handling_due_at=T0 + timedelta(days=7))
        session.add_all([fresh, south])
    app.state.test_clock.advance(61 * 60)  # the world's complaint is past its 60 minutes
    await create_user(app, "lead-south", "team_lead", team="south")
    south_token = await sign_in(app, "lead-south")
    async with client(app, world.tokens["team_lead"]) as c:
        overdue = (await c.get("/api/complaints/overdue")).json()
        listed = (await c.get("/api/complaints")).json()
        filtered = (await c.get("/api/complaints", params={"overdue": "true"})).json()
        received = (await c.get("/api/complaints", params={"status": "dispatched"})).json()
    assert [(c["number"], c["overdue"]) for c in overdue] == [("2611230001", ["dispatch"])]
    assert filtered == overdue
    assert [c["number"] for c in listed] == ["2611230001", "2611230002"]  # overdue first
    assert received == []
    async with client(app, south_token) as c:
        assert [c["number"] for c in (await c.get("/api/complaints/overdue")).json()] == [
            "2611230003"]
    async with client(app, world.tokens["qa"]) as c:
        masked = (await c.get("/api/complaints")).json()
        assert (await c.get("/api/complaints/overdue")).status_code == 403
    assert len(masked) == 3 and all("****" in c["customer_number"] for c in masked)  # R20
    async with client(app, world.tokens["manager"]) as c:
        assert len((await c.get("/api/complaints/overdue")).json()) == 2



async def test_managers_filter_complaints_by_team_and_team_leads_only_their_own(
        desk, sessionmaker, fast_passwords):  # R15, R20
    app, world = desk
    async with sessionmaker() as session, session.begin():
        session.add(Complaint(number="2611230003", customer_number="+8613900139000",
                              status="received", severity="general", summary="south's",
                              owner_agent_id=world.agent_b.id, created_at=T0,
                              dispatch_due_at=T0 + timedelta(hours=1),
                              handling_due_at=T0 + timedelta(days=7)))
    app.state.test_clock.advance(61 * 60)  # both past their 60 minutes
    async with client(app, world.tokens["manager"]) as c:
        south = (await c.get("/api/complaints", params={"team": "south"})).json()
        north = (await c.get("/api/complaints/overdue", params={"team": "north"})).json()
        nobody = (await c.get("/api/complaints", params={"team": "east"})).json()
    assert [c["number"] for c in south] == ["2611230003"]
    assert [c["number"] for c in north] == ["2611230001"]
    assert nobody == []
    async with client(app, world.tokens["team_lead"]) as c:  # leads north
        own = await c.get("/api/complaints", params={"team": "north"})
        other = await c.get("/api/complaints", params={"team": "south"})
        other_overdue = await c.get("/api/complaints/overdue", params={"team": "south"})
    assert [c["number"] for c in own.json()] == ["2611230001"]
    assert other.status_code == other_overdue.status_code == 403

def urgent_form(world, department_id, **changes):
    return {"call_id": str(world.call_c.id), "customer_name": "Wang Fang", "phone": "13800138000",
            "summary": "gas smell in the stairwell", "severity": "crisis",
            "department_id": str(department_id), **changes}


async def test_a_crisis_complaint_reaches_the_head_and_team_leads_at_once(desk, sessionmaker):
    app, world = desk  # R15
    seen: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    app.state.complaint_webhooks = Webhooks(timeout_seconds=1, transport=httpx.MockTransport(hook))
    notifier = app.state.desk
    lead_id = (await _me(app, world.tokens["team_lead"]))["id"]
    with notifier.connect(None, user_id=uuid.UUID(app.state.head["id"]), role="manager") as head, \
            notifier.connect(None, user_id=uuid.UUID(lead_id), role="team_lead") as lead, \
            notifier.connect(world.agent_e.id, user_id=uuid.uuid4(), role="agent") as other:
        async with client(app, world.tokens["agent"]) as c:
            resp = await c.post("/api/complaints", json=urgent_form(world, app.state.department.id))
        assert resp.status_code == 201, resp.text
        for conn in (head, lead):
            notice = await asyncio.wait_for(conn.next(), 1)
            assert isinstance(notice, Notice)
            assert (notice.kind, notice.severity, notice.department, notice.complaint_number) == (
                "urgent_complaint", "crisis", "Parcels", resp.json()["number"])
            assert "13800138000" not in notice.model_dump_json()  # no customer number on it
        assert other.queue.empty()  # agents are not told
    await app.state.complaint_webhooks.drain()
    [request] = seen
    payload = json.loads(request.content)
    assert (str(request.url), payload["event"], payload["why"], payload["severity"]) == (
        "http://hooks.test/parcels", "urgent_complaint", "intake", "crisis")
    async with client(app, world.tokens["agent"]) as c:
        timeline = (await c.get(f"/api/complaints/{resp.json()['id']}/timeline")).json()
    assert [e["event"] for e in timeline] == ["received", "notice"]


async def test_a_failing_webhook_never_blocks_the_intake(desk, sessionmaker):  # R15
    app, world = desk

    def hook(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("nobody there", request=request)

    app.state.complaint_webhooks = Webhooks(timeout_seconds=1, transport=httpx.MockTransport(hook))
    async with client(app, world.tokens["agent"]) as c:
        resp = await c.post("/api/complaints", json=urgent_form(world, app.state.department.id))
    assert resp.status_code == 201, resp.text
    await app.state.complaint_webhooks.drain()  # logged, nothing raised


async def test_raising_the_severity_notifies_and_lowering_does_not(desk, sessionmaker):  # R15
    app, world = desk
    app.state.complaint_webhooks = Webhooks(timeout_seconds=1,
                                            transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    lead_id = (await _me(app, world.tokens["team_lead"]))["id"]
    url = f"/api/complaints/{world.complaint_c.id}/severity"
    with app.state.desk.connect(None, user_id=uuid.UUID(lead_id), role="team_lead") as lead:
        async with client(app, world.tokens["team_lead"]) as c:
            assert (await c.patch(url, json={"severity": "major", "note": "injury"})).status_code == 200
            notice = await asyncio.wait_for(lead.next(), 1)
            assert (notice.severity, notice.department) == ("major", None)
            assert (await c.patch(url, json={"severity": "general"})).status_code == 200
            assert lead.queue.empty()
            timeline = (await c.get(f"/api/complaints/{world.complaint_c.id}/timeline")).json()
    assert [(e["event"], e["detail"].get("to")) for e in timeline] == [
        ("severity", "major"), ("notice", None), ("severity", "general")]


async def test_departments_are_managed_by_managers_and_audited(desk, sessionmaker):
    app, world = desk
    async with client(app, world.tokens["manager"]) as c:
        made = await c.post("/api/departments", json={"name": " Water ", "webhook_url": "https://x.test/h"})
        assert made.status_code == 201, made.text
        dup = await c.post("/api/departments", json={"name": "Water"})
        assert (dup.status_code, dup.json()["error_id"]) == (409, "department-exists")
        bad = await c.post("/api/departments", json={"name": "Gas", "webhook_url": "ftp://x"})
        assert bad.status_code == 422
        changed = await c.patch(f"/api/departments/{made.json()['id']}",
                                json={"head_user_id": app.state.head["id"]})
        assert changed.status_code == 200
        listed = (await c.get("/api/departments")).json()
        assert [(d["name"], d["head_name"]) for d in listed] == [
            ("Parcels", "Head-Parcels"), ("Water", "Head-Parcels")]
        assert (await c.delete(f"/api/departments/{made.json()['id']}")).status_code == 204
    async with client(app, world.tokens["team_lead"]) as c:
        assert (await c.post("/api/departments", json={"name": "Roads"})).status_code == 403
    async with sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.entity == "department").order_by(AuditEntry.id)))
    assert actions == ["create", "update", "delete"]


async def _me(app, token: str) -> dict:
    async with client(app, token) as c:
        return (await c.get("/api/auth/me")).json()
