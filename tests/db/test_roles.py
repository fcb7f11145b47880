"""THE ROLE x ROUTE TABLE (R20): every /api route of the app, for every role and for nobody, with
the status the server must answer. Real users per role are created with the admin token and
really signed in (no dependency overrides); a route added without a row here fails the coverage
test. Then what each role sees inside a route: agents the customer on their current call, team
leads their team's calls, quality inspectors masked numbers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import select, update

from app.audit.models import AuditEntry
from app.calls.models import Call
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage
from ivr.runtime import MenuRuntime
from routing.models import OfferRow, QueueRow
from tests.support.clock import FakeClock
from tests.support.desk import (PASSWORD, T0, World, agent_row, build_world, client,
                                create_user, fast_passwords, make_app, offer_row, sign_in,
                                sign_in_roles)
from tests.support.fake_telephony import FakeTelephony

__all__ = ["fast_passwords"]
DEMO = Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml"
ROLES = ("anon", "agent", "team_lead", "qa", "manager", "admin")

# Who may: the roles that get the success status; every other signed-in role gets 403 (or, for a
# WebSocket, a close with 4403); nobody signed in gets 401 (4401).
EVERYONE = ("agent", "team_lead", "qa", "manager", "admin")
SUPERVISORS = ("team_lead", "manager", "admin")
CUSTOMER_USERS = ("agent", "team_lead", "manager", "admin")
MANAGERS = ("manager", "admin")
ADMINS = ("admin",)

Req = Callable[[World], dict[str, Any]]
NONE: Req = lambda w: {}  # noqa: E731


def complaint_body(w: World) -> dict[str, Any]:
    return {"json": {"call_id": str(w.call_c.id), "customer_name": "Wang Fang",
                     "phone": "138 0013 8000", "summary": "parcel late"}}


AGENT_BODY = {"name": "New", "extension": "8999", "level": "junior", "team": "north",
              "contact": "sip:8999@10.0.0.5:5070"}

# (method, path): (who may, success status, request)
TABLE: dict[tuple[str, str], tuple[tuple[str, ...], int | str, Req]] = {
    ("POST", "/api/auth/login"): (ROLES, 200, lambda w: {"json": {"username": "login-user",
                                                                  "password": PASSWORD}}),
    ("POST", "/api/auth/logout"): (EVERYONE, 204, NONE),
    ("GET", "/api/auth/me"): (EVERYONE, 200, NONE),
    ("GET", "/api/users"): (MANAGERS, 200, NONE),
    ("POST", "/api/users"): (ADMINS, 201, lambda w: {"json": {
        "username": "new-user", "display_name": "New", "role": "qa", "password": PASSWORD}}),
    ("PATCH", "/api/users/{target_user}"): (ADMINS, 200, lambda w: {"json": {"team": "south"}}),
    ("GET", "/api/desk"): (EVERYONE, 200, NONE),
    ("POST", "/api/desk/state"): (("agent",), 200, lambda w: {"json": {"state": "ready"}}),
    # R16: the agent's own call's recording; A's call here is not recorded (null, 409 no-recording).
    ("GET", "/api/desk/recording"): (("agent",), 200, NONE),
    ("POST", "/api/desk/recording/pause"): (("agent",), 409, NONE),
    ("POST", "/api/desk/recording/resume"): (("agent",), 409, NONE),
    # R16, R20: recordings for inspectors, team leads (their team's) and managers; agents only
    # when HOTLINE_RECORDINGS_AGENT_ACCESS is on (off here), the admin token never. One that
    # does not exist is 404 for those who may hear recordings (tests/db/test_recordings_api.py).
    ("GET", "/api/recordings"): (("team_lead", "qa", "manager"), 200, NONE),
    ("GET", "/api/recordings/{no_recording}"): (("team_lead", "qa", "manager"), 404, NONE),
    ("GET", "/api/recordings/{no_recording}/file"): (("team_lead", "qa", "manager"), 404, NONE),
    # Team leads and managers watch for notices of major complaints (R15) on the lead page.
    ("WS", "/api/desk/ws"): (("agent", "team_lead", "manager"), "open", NONE),
    ("GET", "/api/customers"): (CUSTOMER_USERS, 200, lambda w: {"params": {"phone": "13800138000"}}),
    ("GET", "/api/customers/{customer_c}"): (CUSTOMER_USERS, 200, NONE),
    ("PATCH", "/api/customers/{customer_c}"): (CUSTOMER_USERS, 200, lambda w: {"json": {"notes": "x"}}),
    ("POST", "/api/complaints"): (CUSTOMER_USERS, 201, complaint_body),
    ("GET", "/api/complaints/{complaint_c}"): (EVERYONE, 200, NONE),
    # R15's workflow: closing a complaint just received is 409 for those who may move it.
    ("GET", "/api/complaints"): (EVERYONE, 200, NONE),
    ("GET", "/api/complaints/overdue"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/complaints/{complaint_c}/timeline"): (EVERYONE, 200, NONE),
    ("POST", "/api/complaints/{complaint_c}/transitions"): (SUPERVISORS, 409, lambda w: {
        "json": {"to": "closed"}}),
    ("PATCH", "/api/complaints/{complaint_c}/owner"): (SUPERVISORS, 200, lambda w: {
        "json": {"owner_agent_id": str(w.agent_a.id)}}),
    ("PATCH", "/api/complaints/{complaint_c}/severity"): (CUSTOMER_USERS, 200, lambda w: {
        "json": {"severity": "major"}}),
    ("GET", "/api/departments"): (EVERYONE, 200, NONE),
    ("POST", "/api/departments"): (MANAGERS, 201, lambda w: {"json": {"name": "Billing"}}),
    ("PATCH", "/api/departments/{no_department}"): (MANAGERS, 404, lambda w: {
        "json": {"name": "Parcels"}}),
    ("DELETE", "/api/departments/{no_department}"): (MANAGERS, 404, NONE),
    ("GET", "/api/calls"): (EVERYONE, 200, NONE),
    ("GET", "/api/calls/{call_c}"): (EVERYONE, 200, NONE),
    ("POST", "/api/calls/{call_c}/disposition"): (CUSTOMER_USERS, 200, lambda w: {
        "json": {"disposition": "complaint", "notes": "late parcel"}}),
    ("POST", "/api/calls/{call_c}/transfer"): (CUSTOMER_USERS, 202, lambda w: {
        "json": {"queue": "complaints"}}),
    ("POST", "/api/calls/{call_c}/transfer/complete"): (CUSTOMER_USERS, 202, NONE),
    ("POST", "/api/calls/{call_c}/transfer/cancel"): (CUSTOMER_USERS, 202, NONE),
    ("GET", "/api/reports/summary"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/volume"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/agents"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/abandoned"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/occupancy"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/complaints"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/reports/staffing"): (SUPERVISORS, 200, NONE),  # R19, #18
    ("GET", "/api/reports/monthly"): (SUPERVISORS, 200, NONE),  # R18, #18
    ("GET", "/api/reports/wallboard"): (SUPERVISORS, 200, NONE),
    ("WS", "/api/reports/wallboard/ws"): (SUPERVISORS, "open", NONE),
    ("GET", "/api/ivr"): (MANAGERS, 200, NONE),
    ("PUT", "/api/ivr"): (ADMINS, 200, lambda w: {"content": DEMO.read_text(),
                                                  "headers": {"Content-Type": "text/yaml"}}),
    ("POST", "/api/ivr/reload"): (ADMINS, 200, NONE),
    ("GET", "/api/ivr/versions"): (MANAGERS, 200, NONE),
    ("GET", "/api/ivr/versions/{menu_version}"): (MANAGERS, 200, NONE),
    ("POST", "/api/agents"): (("team_lead", "admin"), 201, lambda w: {"json": AGENT_BODY}),
    ("GET", "/api/agents"): (("team_lead", "qa", "manager", "admin"), 200, NONE),
    ("GET", "/api/agents/{agent_a}"): (("team_lead", "qa", "manager", "admin"), 200, NONE),
    ("PATCH", "/api/agents/{agent_a}"): (("team_lead", "admin"), 200, lambda w: {"json": {"name": "A."}}),
    ("POST", "/api/agents/{agent_a}/state"): (("team_lead", "admin"), 200, lambda w: {
        "json": {"state": "paused", "reason": "training"}}),
    ("GET", "/api/agents/{agent_a}/states"): (SUPERVISORS, 200, NONE),
    ("POST", "/api/queues"): (ADMINS, 201, lambda w: {"json": {"name": "billing",
                                                               "call_type": "inquiry"}}),
    ("GET", "/api/queues"): (SUPERVISORS, 200, NONE),
    ("GET", "/api/queues/{queue}"): (SUPERVISORS, 200, NONE),
    ("PATCH", "/api/queues/{queue}"): (ADMINS, 200, lambda w: {"json": {"max_wait_seconds": 200}}),
    ("DELETE", "/api/queues/{spare_queue}"): (ADMINS, 204, NONE),
    # Call-backs (R17): a task that does not exist is 404 for the roles that may work them.
    ("GET", "/api/callbacks"): (CUSTOMER_USERS, 200, NONE),
    ("GET", "/api/callbacks/{no_task}"): (CUSTOMER_USERS, 404, NONE),
    ("POST", "/api/callbacks/{no_task}/attempts"): (CUSTOMER_USERS, 404, lambda w: {
        "json": {"agent_id": str(w.agent_a.id)}}),
    ("GET", "/api/callbacks/{no_task}/voicemail"): (CUSTOMER_USERS, 404, NONE),
    ("GET", "/api/reports/satisfaction/weekly"): (SUPERVISORS, 200, NONE),
    # Quality inspection (R16, R20): a sample that does not exist is 404 for the roles that may
    # use the route; only an inspector scores (the one it is assigned to), only a manager
    # re-assigns; team leads read their own team's figures; agents read their own scores.
    ("POST", "/api/qa/samples"): (("qa", "manager", "admin"), 200, lambda w: {
        "json": {"month": "2026-10"}}),
    ("GET", "/api/qa/samples"): (("qa", "manager", "admin"), 200, NONE),
    ("GET", "/api/qa/samples/{no_sample}"): (("qa", "manager", "admin"), 404, NONE),
    ("PATCH", "/api/qa/samples/{no_sample}"): (MANAGERS, 404, lambda w: {
        "json": {"inspector_user_id": "00000000-0000-0000-0000-000000000000"}}),
    ("PUT", "/api/qa/samples/{no_sample}/score"): (("qa",), 404, lambda w: {"json": {
        "greeting": 4, "attitude": 4, "tone": 4, "summary": 4, "unexpected": 4}}),
    ("GET", "/api/qa/reports/agents"): (("team_lead", "qa", "manager", "admin"), 200, NONE),
    ("GET", "/api/qa/reports/teams"): (("team_lead", "qa", "manager", "admin"), 200, NONE),
    ("GET", "/api/qa/mine"): (("agent",), 200, NONE),
}


def _template(path: str) -> str:
    """The route's path as the app declares it ({target_user} -> {user_id} and so on)."""
    names = {"target_user": "user_id", "customer_c": "customer_id", "complaint_c": "complaint_id",
             "call_c": "call_id", "menu_version": "version_id", "agent_a": "agent_id",
             "queue": "name", "spare_queue": "name", "no_task": "task_id",
             "no_department": "department_id", "no_sample": "sample_id",
             "no_recording": "recording_id"}
    for ours, theirs in names.items():
        path = path.replace("{" + ours + "}", "{" + theirs + "}")
    return path


def app_routes(app) -> set[tuple[str, str]]:
    """Every (method, path) under /api, WebSockets as WS, through included routers."""
    found: set[tuple[str, str]] = set()

    def add(route: Any, path: str) -> None:
        if not path.startswith("/api"):
            return
        methods = getattr(route, "methods", None)
        for method in (methods or {"WS"}) - {"HEAD"}:
            found.add((method, path))

    for route in app.routes:
        if hasattr(route, "path"):
            add(route, route.path)
            continue
        for ctx in route.effective_route_contexts():
            add(ctx.original_route, ctx.path or ctx.original_route.path)
    return found


class FakeAcd:
    agents: dict = {}

    def __init__(self) -> None:
        self.requests: list[tuple] = []

    async def request_state(self, agent_id, state, reason):
        self.requests.append((agent_id, state, reason))
        return state

    def live_state(self, agent_id):
        return None

    async def reload_agents(self) -> None: ...

    async def reload_queues(self) -> None: ...


class FakeStasis:
    """The call is live here; a transfer request is done as soon as it is submitted."""

    def __init__(self) -> None:
        self.submitted: list = []
        stasis = self

        class Flow:
            calls: dict = {}

            def channel_of(self, call_id):
                return "chan-1"

        class Dispatcher:
            def submit(self, channel, item):
                stasis.submitted.append(item)
                item.done.set_result(None)

        self.flow, self.dispatcher = Flow(), Dispatcher()


async def ws_outcome(app, path: str, token: str | None) -> str | int:
    """Open a WebSocket straight through ASGI: "open", or the close code."""
    query = f"token={token}".encode() if token else b""
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "scheme": "ws", "path": path, "raw_path": path.encode(), "query_string": query,
             "root_path": "", "headers": [(b"host", b"desk.test")], "client": ("127.0.0.1", 5),
             "server": ("desk.test", 80), "subprotocols": [], "state": {}}
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    try:
        first = await asyncio.wait_for(outbox.get(), 5)
        if first["type"] == "websocket.close":
            return first["code"]
        assert first["type"] == "websocket.accept"
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        done, _ = await asyncio.wait({task}, timeout=1)
        if not done:  # a board that pushes until it notices: let it send once, then stop it
            await asyncio.wait_for(outbox.get(), 5)
        return "open"
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def prepare(sessionmaker, roles=ROLES):
    app = make_app(sessionmaker, FakeClock(T0 + timedelta(seconds=30)), ivr_file=DEMO)
    world = await build_world(sessionmaker)
    async with sessionmaker() as session, session.begin():
        session.add_all([QueueRow(name="complaints", call_type="complaint"),
                         QueueRow(name="spare", call_type="other")])
    app.state.acd, app.state.stasis = FakeAcd(), FakeStasis()
    app.state.recorder = Recorder(settings=app.state.settings, telephony=FakeTelephony(),
                                  sessionmaker=sessionmaker, clock=app.state.clock,
                                  storage=LocalStorage(app.state.settings.storage_dir))
    await sign_in_roles(app, world, [r for r in roles if r != "anon"])
    return app, world


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), list(TABLE), ids=[f"{m} {p}" for m, p in TABLE])
async def test_role_x_route(sessionmaker, fast_passwords, method, path, role):  # R20
    allowed, success, request = TABLE[(method, path)]
    app, world = await prepare(sessionmaker, [role])
    if (method, _template(path)) not in app_routes(app):
        pytest.fail("a row of the table for a route the app does not have: remove it")
    ids = {"customer_c": world.customer_c.id, "complaint_c": world.complaint_c.id,
           "call_c": world.call_c.id, "agent_a": world.agent_a.id, "queue": "complaints",
           "spare_queue": "spare", "no_task": "00000000-0000-0000-0000-000000000000",
           "no_department": "00000000-0000-0000-0000-000000000000",
           "no_sample": "00000000-0000-0000-0000-000000000000",
           "no_recording": "00000000-0000-0000-0000-000000000000"}
    if path.startswith("/api/ivr"):
        app.state.menus = MenuRuntime(settings=app.state.settings, sessionmaker=sessionmaker)
        await app.state.menus.start()
        ids["menu_version"] = app.state.menus.current.version_id
    if "{target_user}" in path:
        ids["target_user"] = (await create_user(app, "target", "agent"))["id"]
    if path == "/api/auth/login":
        await create_user(app, "login-user", "agent")
    url = path.format(**ids)
    token = world.tokens.get(role)
    if role in allowed:
        expected = success
    elif role == "anon":
        expected = 4401 if method == "WS" else 401
    else:
        expected = 4403 if method == "WS" else 403
    if method == "WS":
        assert await ws_outcome(app, url, token) == expected
        return
    async with client(app, token) as c:
        resp = await c.request(method, url, **request(world))
    assert resp.status_code == expected, resp.text


def test_every_api_route_of_the_app_is_in_the_table():  # R20: a new route needs a role decision
    app = make_app(None)
    table = {(m, _template(p)) for m, p in TABLE}
    missing = app_routes(app) - table
    assert not missing, f"routes without a role decision in TABLE: {sorted(missing)}"


# -- what each role sees inside the routes ------------------------------------------------------

async def _get(app, token, url, **kw):
    async with client(app, token) as c:
        return await c.get(url, **kw)


async def test_an_agent_sees_a_customer_only_while_the_call_is_theirs(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["manager"])
    await create_user(app, "agent-e", "agent", agent_id=world.agent_e.id)
    token = await sign_in(app, "agent-e")
    url = f"/api/customers/{world.customer_c.id}"
    assert (await _get(app, token, url)).status_code == 403  # R20: not their call
    assert (await _get(app, token, f"/api/calls/{world.call_c.id}")).status_code == 403
    async with sessionmaker() as session, session.begin():  # the call now rings at E's phone
        session.add(offer_row(world.call_c, world.agent_e, T0, None))
    resp = await _get(app, token, url)
    assert resp.status_code == 200, resp.text
    assert resp.json()["phone"] == "+8613800138000"  # R3: the caller's number, in full
    async with sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.entity_id == str(world.customer_c.id)).order_by(AuditEntry.id.desc()))
    assert (entry.actor, entry.reason, entry.call_id) == ("agent-e", "call", world.call_c.id)
    async with sessionmaker() as session, session.begin():  # E missed it
        await session.execute(update(OfferRow).where(OfferRow.agent_id == world.agent_e.id)
                              .values(outcome="no_answer"))
    assert (await _get(app, token, url)).status_code == 403
    assert (await _get(app, token, f"/api/customers/{world.customer_d.id}")).status_code == 403


async def test_an_agent_keeps_the_customer_for_thirty_minutes_after_the_call(sessionmaker,
                                                                             fast_passwords):
    app, world = await prepare(sessionmaker, ["agent"])
    token, url = world.tokens["agent"], f"/api/customers/{world.customer_c.id}"
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Call).where(Call.id == world.call_c.id)
                              .values(ended_at=T0, state="ended"))
    app.state.clock.current = T0 + timedelta(minutes=29)
    assert (await _get(app, token, url)).status_code == 200  # R14: finish the complaint form
    app.state.clock.current = T0 + timedelta(minutes=31)
    assert (await _get(app, token, url)).status_code == 403  # R20
    # searching by the full number still works (and is audited as a search)
    assert (await _get(app, token, "/api/customers",
                       params={"phone": "13800138000"})).status_code == 200


async def test_team_leads_see_their_teams_calls_and_customers_only(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["team_lead"])
    token = world.tokens["team_lead"]  # leads north: A's call with C, not B's (south) with D
    listed = (await _get(app, token, "/api/calls")).json()["items"]
    assert [c["id"] for c in listed] == [str(world.call_c.id)]
    assert listed[0]["caller_number"] == "13800138000"
    assert (await _get(app, token, f"/api/calls/{world.call_c.id}")).status_code == 200
    assert (await _get(app, token, f"/api/calls/{world.call_d.id}")).status_code == 403
    assert (await _get(app, token, f"/api/customers/{world.customer_c.id}")).status_code == 200
    assert (await _get(app, token, f"/api/customers/{world.customer_d.id}")).status_code == 403
    async with client(app, token) as c:
        resp = await c.post(f"/api/calls/{world.call_d.id}/disposition",
                            json={"disposition": "inquiry"})
    assert resp.status_code == 403


async def test_a_team_lead_without_a_team_sees_no_calls(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, [])
    await create_user(app, "lead-nobody", "team_lead")
    token = await sign_in(app, "lead-nobody")
    assert (await _get(app, token, "/api/calls")).json()["items"] == []
    assert (await _get(app, token, f"/api/calls/{world.call_c.id}")).status_code == 403


async def test_quality_inspectors_see_every_call_with_masked_numbers(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["qa", "manager"])
    listed = (await _get(app, world.tokens["qa"], "/api/calls")).json()["items"]
    assert sorted(c["caller_number"] for c in listed) == ["138****8000", "139****9000"]  # R20
    one = (await _get(app, world.tokens["qa"], f"/api/calls/{world.call_c.id}")).json()
    assert one["caller_number"] == "138****8000"
    complaint = (await _get(app, world.tokens["qa"],
                            f"/api/complaints/{world.complaint_c.id}")).json()
    assert complaint["customer_number"] == "138****8000"
    full = (await _get(app, world.tokens["manager"], "/api/calls")).json()["items"]
    assert sorted(c["caller_number"] for c in full) == ["13800138000", "13900139000"]


async def test_an_agents_call_list_is_their_own_with_masked_numbers(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["agent"])
    listed = (await _get(app, world.tokens["agent"], "/api/calls")).json()["items"]
    assert [(c["id"], c["caller_number"]) for c in listed] == [(str(world.call_c.id),
                                                                "138****8000")]


async def test_an_agent_reads_only_complaints_they_own_or_on_their_call(sessionmaker,
                                                                         fast_passwords):
    app, world = await prepare(sessionmaker, [])
    async with sessionmaker() as session, session.begin():
        other = agent_row("F", "8104", "north")
        session.add(other)
    await create_user(app, "agent-f", "agent", agent_id=other.id)
    await create_user(app, "agent-unlinked", "agent")
    for name in ("agent-f", "agent-unlinked"):
        token = await sign_in(app, name)
        resp = await _get(app, token, f"/api/complaints/{world.complaint_c.id}")
        assert resp.status_code == 403, name


async def test_an_unlinked_agent_does_not_read_complaints_without_an_owner(sessionmaker,
                                                                           fast_passwords):
    app, world = await prepare(sessionmaker, ["manager"])
    async with client(app, world.tokens["manager"]) as c:  # a manager takes one, off any call
        resp = await c.post("/api/complaints", json={"customer_name": "Qian", "phone": "13700137000",
                                                     "summary": "rude courier"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["owner_agent_id"] is None
    await create_user(app, "agent-unlinked", "agent")
    token = await sign_in(app, "agent-unlinked")
    assert (await _get(app, token, f"/api/complaints/{resp.json()['id']}")).status_code == 403


async def test_a_team_lead_reads_only_their_teams_complaints(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, [])
    await create_user(app, "lead-south", "team_lead", team="south")
    token = await sign_in(app, "lead-south")
    assert (await _get(app, token, f"/api/complaints/{world.complaint_c.id}")).status_code == 403


async def test_desk_socket_refuses_other_sites(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["agent"])
    scope_origin = [(b"host", b"desk.test"), (b"origin", b"http://evil.test")]
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "scheme": "ws", "path": "/api/desk/ws", "raw_path": b"/api/desk/ws",
             "query_string": f"token={world.tokens['agent']}".encode(), "root_path": "",
             "headers": scope_origin, "client": ("127.0.0.1", 5), "server": ("desk.test", 80),
             "subprotocols": [], "state": {}}
    await asyncio.wait_for(app(scope, inbox.get, outbox.put), 5)
    assert (await outbox.get())["code"] == 4403
