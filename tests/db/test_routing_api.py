"""/api/agents and /api/queues against real Postgres, with a recording fake of the live ACD:
agents and queues are stored and validated, state changes go through the ACD (R9, R19), and the
stored state history comes back in time order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.auth.models import RoleName
from app.auth.service import Principal
from app.deps import current_principal
from app.errors import AppError
from app.main import create_app
from routing import service
from routing.schemas import AgentIn
from tests.support.clock import FakeClock
from tests.support.settings import make_settings

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

AGENT = {"name": "Li Na", "extension": "8001", "level": "junior", "skills": {"billing": 3},
         "languages": ["zh", "en"], "team": "A", "contact": "sip:8001@10.0.0.5:5070"}
QUEUE = {"name": "complaints", "call_type": "complaint", "skills": ["complaints"]}


class FakeAgentBusy(AppError):
    status_code = 409
    error_id = "agent-busy"
    message = "the agent is ringing or on a call"


class FakeAcd:
    """Records what the API asks of the ACD; agents in `busy` refuse state changes."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.busy: set[uuid.UUID] = set()
        self.live: dict[uuid.UUID, dict] = {}

    async def request_state(self, agent_id: uuid.UUID, state: str, reason: str | None) -> str:
        self.calls.append(("request_state", agent_id, state, reason))
        if agent_id in self.busy:
            raise FakeAgentBusy()
        self.live[agent_id] = {"state": state, "state_reason": reason, "state_since": T0,
                               "call_id": None}
        return state

    def live_state(self, agent_id: uuid.UUID) -> dict | None:
        return self.live.get(agent_id)

    async def reload_agents(self) -> None:
        self.calls.append(("reload_agents",))

    async def reload_queues(self) -> None:
        self.calls.append(("reload_queues",))


def _app(sessionmaker, acd: FakeAcd | None):
    settings = make_settings()
    app = create_app(settings, clock=FakeClock())  # the test's clock, never today's
    app.state.sessionmaker = sessionmaker  # the lifespan (ARI, stream, ACD) is not needed here
    if acd is not None:
        app.state.acd = acd
    return app, settings.admin_token.get_secret_value()


def _client(app, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                             headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def acd() -> FakeAcd:
    return FakeAcd()


@pytest.fixture
async def client(sessionmaker, acd):
    app, token = _app(sessionmaker, acd)
    async with _client(app, token) as c:
        yield c


@pytest.fixture
async def client_without_acd(sessionmaker):
    app, token = _app(sessionmaker, None)
    async with _client(app, token) as c:
        yield c


async def _agent(client, **changes) -> dict:
    resp = await client.post("/api/agents", json={**AGENT, **changes})
    assert resp.status_code == 201, resp.text
    return resp.json()


# -- agents ---------------------------------------------------------------------------------

async def test_new_agent_is_stored_logged_out_and_the_acd_reloads_agents(client, acd):
    resp = await client.post("/api/agents", json=AGENT)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert {k: body[k] for k in AGENT} == AGENT
    assert body["state"] == "logged_out" and body["ready_since"] is None
    assert body["is_active"] is True
    assert acd.calls == [("reload_agents",)]

    listed = (await client.get("/api/agents")).json()
    assert [a["id"] for a in listed] == [body["id"]]
    one = await client.get(f"/api/agents/{body['id']}")
    assert one.status_code == 200 and one.json() == body


async def test_languages_default_to_mandarin_and_agents_are_listed_by_name(client):
    short = {k: v for k, v in AGENT.items() if k not in ("languages", "skills", "team")}
    await _agent(client, **{**short, "name": "Zhang Wei", "extension": "8002"})
    created = await client.post("/api/agents", json={**short, "name": "Chen Jie"})
    assert created.json()["languages"] == ["zh"] and created.json()["skills"] == {}
    listed = (await client.get("/api/agents")).json()
    assert [a["name"] for a in listed] == ["Chen Jie", "Zhang Wei"]


async def test_patch_changes_only_the_given_fields_and_reloads_agents(client, acd):
    agent = await _agent(client)
    acd.calls.clear()
    resp = await client.patch(f"/api/agents/{agent['id']}",
                              json={"level": "senior", "skills": {"complaints": 5}, "team": None})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["level"], body["skills"], body["team"]) == ("senior", {"complaints": 5}, None)
    assert (body["name"], body["extension"], body["contact"]) == (
        AGENT["name"], AGENT["extension"], AGENT["contact"])
    assert acd.calls == [("reload_agents",)]
    assert (await client.get(f"/api/agents/{agent['id']}")).json() == body


async def test_agents_are_shown_with_the_live_state_of_the_acd(client, acd):
    agent = await _agent(client)
    call_id = uuid.uuid4()
    acd.live[uuid.UUID(agent["id"])] = {"state": "ringing", "state_reason": None,
                                        "state_since": T0, "call_id": call_id}
    listed = (await client.get("/api/agents")).json()[0]
    assert (listed["state"], listed["call_id"]) == ("ringing", str(call_id))
    assert datetime.fromisoformat(listed["state_since"]) == T0
    one = (await client.get(f"/api/agents/{agent['id']}")).json()
    assert one["state"] == "ringing"


async def test_reads_without_an_acd_show_the_stored_state(client_without_acd):
    agent = await _agent(client_without_acd)
    listed = (await client_without_acd.get("/api/agents")).json()
    assert [(a["id"], a["state"], a["call_id"]) for a in listed] == [
        (agent["id"], "logged_out", None)]


async def test_duplicate_extension_is_refused_and_nothing_stored_changes(client, acd):
    first = await _agent(client)
    second = await _agent(client, name="Wang Fang", extension="8002",
                          contact="sip:8002@10.0.0.5:5071")
    acd.calls.clear()

    created = await client.post("/api/agents", json={**AGENT, "name": "Copy"})
    assert created.status_code == 409
    assert created.json()["error_id"] == "agent-extension-taken"
    assert created.json()["details"] == {"extension": "8001"}

    patched = await client.patch(f"/api/agents/{second['id']}",
                                 json={"extension": "8001", "name": "Renamed"})
    assert patched.status_code == 409
    assert patched.json()["error_id"] == "agent-extension-taken"

    assert (await client.get("/api/agents")).json() == [first, second]
    assert acd.calls == []


async def test_a_taken_extension_leaves_the_callers_transaction_usable(sessionmaker):
    async with sessionmaker() as session, session.begin():
        first = await service.create_agent(session=session, agent_in=AgentIn(**AGENT))
        with pytest.raises(service.ExtensionTaken):
            await service.create_agent(session=session, agent_in=AgentIn(**AGENT))
        other = await service.create_agent(session=session,
                                           agent_in=AgentIn(**{**AGENT, "extension": "8009"}))
        rows = await service.list_agents(session=session)
    assert sorted(r.id for r in rows) == sorted([first.id, other.id])


async def test_deactivated_agents_are_listed_only_when_asked(client, sessionmaker):
    agent = await _agent(client)
    async with sessionmaker() as session, session.begin():
        row = await service.get_agent(session=session, agent_id=uuid.UUID(agent["id"]))
        await service.deactivate_agent(session=session, agent=row)
    assert (await client.get("/api/agents")).json() == []
    listed = (await client.get("/api/agents", params={"include_inactive": "true"})).json()
    assert [(a["id"], a["is_active"]) for a in listed] == [(agent["id"], False)]


@pytest.mark.parametrize("changes", [
    {"contact": "8001@10.0.0.5"},
    {"contact": "sip:8001@"},
    {"contact": "sip:80 01@host"},
    {"contact": "sip:8001@10.0.0.5:123456"},
    {"skills": {"billing": 6}},
    {"skills": {"billing": 0}},
    {"skills": {"Billing!": 3}},
    {"level": "expert"},
    {"languages": []},
    {"languages": ["chinese"]},
    {"extension": "8"},
    {"extension": "80a1"},
    {"name": ""},
    {"shoe_size": 42},
])
async def test_invalid_agents_are_refused_with_422(client, changes):
    resp = await client.post("/api/agents", json={**AGENT, **changes})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "invalid-request"
    assert (await client.get("/api/agents")).json() == []


@pytest.mark.parametrize("patch", [{"name": None}, {"level": None}, {"languages": []},
                                   {"contact": "tel:+861012345"}, {"state": "ready"}])
async def test_invalid_agent_patches_are_refused_with_422(client, patch):
    agent = await _agent(client)
    resp = await client.patch(f"/api/agents/{agent['id']}", json=patch)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "invalid-request"
    assert (await client.get(f"/api/agents/{agent['id']}")).json() == agent


# -- agent states ---------------------------------------------------------------------------

async def test_state_change_is_asked_of_the_acd_and_its_answer_returned(client, acd):
    agent = await _agent(client)
    agent_id = uuid.UUID(agent["id"])
    acd.calls.clear()

    ready = await client.post(f"/api/agents/{agent_id}/state", json={"state": "ready"})
    assert ready.status_code == 200, ready.text
    assert ready.json()["state"] == "ready"

    paused = await client.post(f"/api/agents/{agent_id}/state",
                               json={"state": "paused", "reason": "meal"})
    assert (paused.json()["state"], paused.json()["state_reason"]) == ("paused", "meal")
    assert acd.calls == [("request_state", agent_id, "ready", None),
                         ("request_state", agent_id, "paused", "meal")]


async def test_a_pause_without_a_reason_is_asked_with_reason_other(client, acd):
    agent = await _agent(client)
    resp = await client.post(f"/api/agents/{agent['id']}/state", json={"state": "paused"})
    assert resp.status_code == 200
    assert acd.calls[-1] == ("request_state", uuid.UUID(agent["id"]), "paused", "other")


async def test_an_agent_who_rings_or_talks_cannot_change_state(client, acd):
    agent = await _agent(client)
    acd.busy.add(uuid.UUID(agent["id"]))
    resp = await client.post(f"/api/agents/{agent['id']}/state", json={"state": "paused"})
    assert resp.status_code == 409
    assert resp.json()["error_id"] == "agent-busy"


async def test_state_change_without_a_running_acd_is_503(client_without_acd):
    agent = await _agent(client_without_acd)
    resp = await client_without_acd.post(f"/api/agents/{agent['id']}/state",
                                         json={"state": "ready"})
    assert resp.status_code == 503
    assert resp.json()["error_id"] == "acd-unavailable"


@pytest.mark.parametrize("body", [{"state": "on_call"}, {"state": "ringing"}, {},
                                  {"state": "paused", "reason": "x" * 65}])
async def test_only_ready_paused_and_logged_out_may_be_asked_for(client, acd, body):
    agent = await _agent(client)
    resp = await client.post(f"/api/agents/{agent['id']}/state", json=body)
    assert resp.status_code == 422
    assert resp.json()["error_id"] == "invalid-request"
    assert not [c for c in acd.calls if c[0] == "request_state"]


async def test_deactivated_agent_cannot_change_state(client, acd, sessionmaker):
    agent = await _agent(client)
    async with sessionmaker() as session, session.begin():
        row = await service.get_agent(session=session, agent_id=uuid.UUID(agent["id"]))
        await service.deactivate_agent(session=session, agent=row)
    resp = await client.post(f"/api/agents/{agent['id']}/state", json={"state": "ready"})
    assert resp.status_code == 409 and resp.json()["error_id"] == "agent-inactive"
    assert not [c for c in acd.calls if c[0] == "request_state"]


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None), ("PATCH", "", {"name": "X"}), ("POST", "/state", {"state": "ready"}),
    ("GET", "/states", None)])
async def test_unknown_agent_is_404(client, acd, method, suffix, body):
    resp = await client.request(method, f"/api/agents/{uuid.uuid4()}{suffix}", json=body)
    assert resp.status_code == 404
    assert resp.json()["error_id"] == "not-found"
    assert acd.calls == []


async def test_state_history_comes_back_in_time_order_with_reasons(client, sessionmaker):
    agent = await _agent(client)
    agent_id = uuid.UUID(agent["id"])
    changes = [  # stored out of order on purpose
        (T0 + timedelta(minutes=30), "ready", "paused", "pause", "meal"),
        (T0, "logged_out", "ready", "log_in", None),
        (T0 + timedelta(minutes=45), "paused", "ready", "go_ready", None),
        (T0 + timedelta(minutes=10), "ready", "ringing", "offer", None),
        (T0 + timedelta(minutes=11), "ringing", "ready", "offer_cancelled", None),
    ]
    async with sessionmaker() as session, session.begin():
        for at, from_state, to_state, event, reason in changes:
            await service.record_state_change(session=session, agent_id=agent_id, at=at,
                                              from_state=from_state, to_state=to_state,
                                              event=event, reason=reason, call_id=None)

    resp = await client.get(f"/api/agents/{agent_id}/states")
    assert resp.status_code == 200, resp.text
    got = [(datetime.fromisoformat(r["at"]), r["from_state"], r["to_state"], r["event"],
            r["reason"]) for r in resp.json()]
    assert got == sorted(changes)

    window = await client.get(f"/api/agents/{agent_id}/states",
                              params={"since": "2026-11-23T09:10:00+08:00",
                                      "until": "2026-11-23T09:45:00+08:00"})
    assert [r["event"] for r in window.json()] == ["offer", "offer_cancelled", "pause"]


async def test_recording_a_state_change_moves_the_agent_row(sessionmaker):
    async with sessionmaker() as session, session.begin():
        agent = await service.create_agent(session=session, agent_in=AgentIn(**AGENT))
        steps = [("logged_out", "ready", "log_in", None, T0),
                 ("ready", "paused", "pause", "meal", T0),
                 ("paused", "logged_out", "log_out", None, None)]
        for i, (from_state, to_state, event, reason, ready_since) in enumerate(steps):
            at = T0 + timedelta(minutes=i)
            await service.record_state_change(session=session, agent_id=agent.id, at=at,
                                              from_state=from_state, to_state=to_state,
                                              event=event, reason=reason, call_id=None)
            row = await service.get_agent(session=session, agent_id=agent.id)
            assert (row.state, row.state_reason, row.state_since, row.ready_since) == (
                to_state, reason, at, ready_since)


@pytest.mark.parametrize(("params", "status", "error_id"), [
    ({"since": "2026-11-23T09:00:00"}, 400, "bad-request"),
    ({"since": "2026-11-23T10:00:00Z", "until": "2026-11-23T09:00:00Z"}, 400, "invalid-range"),
    ({"limit": 0}, 422, "invalid-request"),
])
async def test_state_history_needs_a_sound_time_range(client, params, status, error_id):
    agent = await _agent(client)
    resp = await client.get(f"/api/agents/{agent['id']}/states", params=params)
    assert resp.status_code == status, resp.text
    assert resp.json()["error_id"] == error_id


# -- queues ---------------------------------------------------------------------------------

async def test_queue_is_created_read_changed_and_deleted(client, acd):
    created = await client.post("/api/queues", json=QUEUE)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in QUEUE} == QUEUE
    assert (body["strategy"], body["max_wait_seconds"], body["moh_class"], body["wrap_up_seconds"],
            body["language"], body["overflow"], body["announce_every_seconds"]) == (
        "longest_idle", 300, "default", 15, None, None, None)
    assert (await client.get("/api/queues")).json() == [body]
    assert (await client.get("/api/queues/complaints")).json() == body

    patched = await client.patch("/api/queues/complaints", json={
        "strategy": "skill_weighted", "overflow": {"kind": "voicemail"}, "wrap_up_seconds": 0,
        "announce_every_seconds": 30, "language": "zh"})
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["strategy"], p["overflow"], p["wrap_up_seconds"], p["announce_every_seconds"],
            p["language"], p["skills"]) == (
        "skill_weighted", {"kind": "voicemail"}, 0, 30, "zh", ["complaints"])
    cleared = await client.patch("/api/queues/complaints", json={"overflow": None})
    assert cleared.json()["overflow"] is None

    deleted = await client.delete("/api/queues/complaints")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = await client.get("/api/queues/complaints")
    assert gone.status_code == 404 and gone.json()["error_id"] == "not-found"
    assert (await client.get("/api/queues")).json() == []
    assert acd.calls == [("reload_queues",)] * 4


async def test_queue_overflowing_to_another_queue_names_it(client):
    resp = await client.post("/api/queues", json={
        **QUEUE, "overflow": {"kind": "queue", "target": "general"}, "max_wait_seconds": 120})
    assert resp.status_code == 201, resp.text
    assert resp.json()["overflow"] == {"kind": "queue", "target": "general"}


async def test_duplicate_queue_name_is_refused(client):
    first = (await client.post("/api/queues", json=QUEUE)).json()
    resp = await client.post("/api/queues", json={**QUEUE, "call_type": "inquiry"})
    assert resp.status_code == 409
    assert resp.json()["error_id"] == "queue-name-taken"
    assert (await client.get("/api/queues")).json() == [first]


@pytest.mark.parametrize("changes", [
    {"overflow": {"kind": "queue"}},
    {"overflow": {"kind": "queue", "target": None}},
    {"overflow": {"kind": "queue", "target": "Not A Name"}},
    {"overflow": {"kind": "elsewhere"}},
    {"name": "Complaints"},
    {"name": "bad-name"},
    {"call_type": "sales"},
    {"strategy": "random"},
    {"max_wait_seconds": 5},
    {"max_wait_seconds": 3601},
    {"announce_every_seconds": 9},
    {"moh_class": "Loud Music"},
    {"wrap_up_seconds": 601},
    {"language": "mandarin"},
    {"skills": ["Billing"]},
])
async def test_invalid_queues_are_refused_with_422(client, changes):
    resp = await client.post("/api/queues", json={**QUEUE, **changes})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "invalid-request"
    assert (await client.get("/api/queues")).json() == []


async def test_queue_cannot_overflow_into_itself(client):
    resp = await client.post("/api/queues", json={
        **QUEUE, "overflow": {"kind": "queue", "target": "complaints"}})
    assert resp.status_code == 422 and resp.json()["error_id"] == "invalid-overflow"
    await client.post("/api/queues", json=QUEUE)
    patched = await client.patch("/api/queues/complaints",
                                 json={"overflow": {"kind": "queue", "target": "complaints"}})
    assert patched.status_code == 422 and patched.json()["error_id"] == "invalid-overflow"


@pytest.mark.parametrize("patch", [{"name": "other"}, {"strategy": None}, {"max_wait_seconds": 1},
                                   {"overflow": {"kind": "queue"}}])
async def test_invalid_queue_patches_are_refused_and_change_nothing(client, patch):
    queue = (await client.post("/api/queues", json=QUEUE)).json()
    resp = await client.patch("/api/queues/complaints", json=patch)
    assert resp.status_code == 422, resp.text
    assert (await client.get("/api/queues/complaints")).json() == queue


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"wrap_up_seconds": 5}),
                                              ("DELETE", None)])
async def test_unknown_queue_is_404(client, acd, method, body):
    resp = await client.request(method, "/api/queues/nowhere", json=body)
    assert resp.status_code == 404 and resp.json()["error_id"] == "not-found"
    assert acd.calls == []


# -- access ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/agents"), ("POST", "/api/agents"), ("GET", f"/api/agents/{uuid.uuid4()}"),
    ("PATCH", f"/api/agents/{uuid.uuid4()}"), ("POST", f"/api/agents/{uuid.uuid4()}/state"),
    ("GET", f"/api/agents/{uuid.uuid4()}/states"), ("GET", "/api/queues"),
    ("POST", "/api/queues"), ("GET", "/api/queues/complaints"),
    ("PATCH", "/api/queues/complaints"), ("DELETE", "/api/queues/complaints")])
async def test_every_route_needs_the_bearer_token(client, method, path):
    client.headers.pop("Authorization")
    resp = await client.request(method, path, json={})
    assert resp.status_code == 401
    assert resp.json()["error_id"] == "unauthorized"


@pytest.mark.parametrize(("role", "method", "path", "allowed"), [
    (RoleName.qa, "GET", "/api/agents", True),
    (RoleName.qa, "POST", "/api/agents", False),
    (RoleName.qa, "GET", "/api/queues", False),
    (RoleName.team_lead, "POST", "/api/agents", True),
    (RoleName.team_lead, "POST", "/api/queues", False),
    (RoleName.manager, "GET", "/api/queues", True),
    (RoleName.manager, "PATCH", "/api/agents/{id}", False),
    (RoleName.agent, "GET", "/api/agents", False),
])
async def test_roles_see_and_change_only_what_their_duties_need(sessionmaker, acd, role, method,
                                                               path, allowed):
    app, token = _app(sessionmaker, acd)
    async with _client(app, token) as admin:
        agent = await _agent(admin)
    app.dependency_overrides[current_principal] = lambda: Principal(subject="u", role=role,
                                                                    team=AGENT.get("team"))
    body = {"/api/agents": {**AGENT, "extension": "8010"}, "/api/queues": QUEUE}.get(path, {})
    async with _client(app, token) as c:
        resp = await c.request(method, path.format(id=agent["id"]), json=body)
    if allowed:
        assert resp.status_code in (200, 201), resp.text
    else:
        assert resp.status_code == 403 and resp.json()["error_id"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/agents"),
                                              ("PATCH", "/api/agents/{id}"),
                                              ("POST", "/api/agents/{id}/state")])
async def test_a_team_lead_manages_only_their_own_teams_agents(sessionmaker, acd, method, path):
    """R20: another team's agents are not theirs to create, change or pause."""
    app, token = _app(sessionmaker, acd)
    async with _client(app, token) as admin:
        agent = await _agent(admin)
    app.dependency_overrides[current_principal] = lambda: Principal(
        subject="u", role=RoleName.team_lead, team="some other team")
    body = {"POST /api/agents": {**AGENT, "extension": "8011"},
            "POST /api/agents/{id}/state": {"state": "ready"}}.get(f"{method} {path}", {"name": "x"})
    async with _client(app, token) as c:
        resp = await c.request(method, path.format(id=agent["id"]), json=body)
    assert resp.status_code == 403 and resp.json()["error_id"] == "forbidden", resp.text


# -- where customers' calls may go (#20, R20) -----------------------------------------------

@pytest.mark.parametrize("contact", ["sip:8001@203.0.113.9:5060", "sip:8001@sip.attacker.example",
                                     "sip:+900555@8.8.8.8"])
async def test_a_contact_off_the_agents_phone_networks_is_refused(client, acd, contact):
    created = await client.post("/api/agents", json={**AGENT, "contact": contact})
    assert (created.status_code, created.json()["error_id"]) == (422, "contact-not-allowed")
    as_phone = await client.post("/api/agents", json={
        **{k: v for k, v in AGENT.items() if k != "contact"},
        "phone": {"kind": "contact", "contact": contact}})
    assert (as_phone.status_code, as_phone.json()["error_id"]) == (422, "contact-not-allowed")
    assert (await client.get("/api/agents")).json() == []

    agent = await _agent(client)
    acd.calls.clear()
    moved = await client.patch(f"/api/agents/{agent['id']}", json={"contact": contact})
    assert (moved.status_code, moved.json()["error_id"]) == (422, "contact-not-allowed")
    assert (await client.get(f"/api/agents/{agent['id']}")).json()["contact"] == AGENT["contact"]
    assert acd.calls == []
