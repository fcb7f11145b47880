"""The agent desktop's API against real Postgres: an app without its lifespan, clients signed in
as real users (created with the admin token, signed in with their password), and a small world
of agents, customers, calls and offers to look at (R14, R20)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from app.auth import passwords
from app.calls.models import Call
from app.complaints.models import Complaint
from app.customers.models import Customer
from app.main import create_app
from routing.models import AgentRow, OfferRow
from tests.support.clock import FakeClock
from tests.support.settings import make_settings

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
PASSWORD = "a good passphrase 1"
ROLES = ("agent", "team_lead", "qa", "manager", "admin")


@pytest.fixture
def fast_passwords(monkeypatch):
    """Still argon2id, with the cheapest parameters: tests sign in hundreds of users."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                             parallelism=1))


def make_app(sessionmaker, clock: FakeClock | None = None, **settings: Any):
    settings = make_settings(**settings)
    app = create_app(settings, clock=clock or FakeClock(T0))
    app.state.sessionmaker = app.state.report_sessionmaker = sessionmaker  # no lifespan needed
    return app


def admin_token(app) -> str:
    return app.state.settings.admin_token.get_secret_value()


def client(app, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk.test",
                             headers=headers)


async def create_user(app, username: str, role: str, *, agent_id: uuid.UUID | None = None,
                      team: str | None = None, password: str = PASSWORD) -> dict:
    body = {"username": username, "display_name": username.title(), "role": role,
            "password": password, "agent_id": str(agent_id) if agent_id else None, "team": team}
    async with client(app, admin_token(app)) as admin:
        resp = await admin.post("/api/users", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def sign_in(app, username: str, password: str = PASSWORD) -> str:
    async with client(app) as anon:
        resp = await anon.post("/api/auth/login", json={"username": username,
                                                        "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()["token"]


@dataclass
class World:
    """Agent A (team north) is answering a call from customer C; agent B (team south) answered
    a call from customer D; agent E (north) is on no call. Complaint on C's call, owned by A."""

    agent_a: AgentRow
    agent_b: AgentRow
    agent_e: AgentRow
    customer_c: Customer
    customer_d: Customer
    call_c: Call
    call_d: Call
    complaint_c: Complaint
    tokens: dict[str, str] = field(default_factory=dict)


def agent_row(name: str, extension: str, team: str) -> AgentRow:
    return AgentRow(id=uuid.uuid4(), name=name, extension=extension, level="junior", skills={},
                    languages=["zh"], team=team, contact=f"sip:{extension}@10.0.0.5:5070",
                    state="on_call", state_since=T0)


def call_row(customer: Customer | None, number: str, channel: str, *, agent: AgentRow | None,
             started_at: datetime, ended_at: datetime | None = None) -> Call:
    return Call(id=uuid.uuid4(), channel_id=channel, caller_number=number, caller_name="",
                dialed_number="95000", language="zh", state="ended" if ended_at else "connected",
                started_at=started_at, last_seen_at=started_at, ended_at=ended_at,
                queue="complaints", agent_id=agent.id if agent else None,
                customer_id=customer.id if customer else None,
                answered_at=started_at if agent else None)


def offer_row(call: Call, agent: AgentRow, at: datetime, outcome: str | None) -> OfferRow:
    return OfferRow(id=uuid.uuid4(), call_id=call.id, agent_id=agent.id, queue="complaints",
                    channel_id=f"{call.channel_id}-{agent.extension}", offered_at=at,
                    ringing_at=at, answered_at=at if outcome == "answered" else None,
                    outcome=outcome)


async def build_world(sessionmaker, now: datetime = T0) -> World:
    async with sessionmaker() as session, session.begin():
        a, b, e = (agent_row("A", "8101", "north"), agent_row("B", "8102", "south"),
                   agent_row("E", "8103", "north"))
        c = Customer(id=uuid.uuid4(), phone="+8613800138000", name="", address="",
                     important=False, notes="")
        d = Customer(id=uuid.uuid4(), phone="+8613900139000", name="Zhao Lei",
                     address="Road 2", important=False, notes="")
        session.add_all([a, b, e, c, d])
        await session.flush()
        call_c = call_row(c, "13800138000", "desk-c", agent=a, started_at=now - timedelta(minutes=2))
        call_d = call_row(d, "13900139000", "desk-d", agent=b, started_at=now - timedelta(minutes=3))
        session.add_all([call_c, call_d])
        await session.flush()
        session.add_all([offer_row(call_c, a, now - timedelta(minutes=1), "answered"),
                         offer_row(call_d, b, now - timedelta(minutes=2), "answered")])
        complaint = Complaint(id=uuid.uuid4(), number="2611230001", customer_number="+8613800138000",
                              status="received", severity="general", summary="late",
                              call_id=call_c.id, customer_id=c.id, customer_name="Wang Fang",
                              owner_agent_id=a.id, created_at=now,
                              dispatch_due_at=now + timedelta(hours=1),
                              handling_due_at=now + timedelta(days=7))
        session.add(complaint)
    return World(a, b, e, c, d, call_c, call_d, complaint)


async def sign_in_roles(app, world: World, roles=ROLES) -> dict[str, str]:
    """One real user per role, signed in: the agent is A, the team lead leads north."""
    tokens = {}
    for role in roles:
        if role == "admin":
            tokens[role] = admin_token(app)
            continue
        await create_user(app, f"{role.replace('_', '-')}-1", role,
                          agent_id=world.agent_a.id if role == "agent" else None,
                          team="north" if role == "team_lead" else None)
        tokens[role] = await sign_in(app, f"{role.replace('_', '-')}-1")
    world.tokens = tokens
    return tokens


async def open_desk_socket(app, token: str):
    """The desk WebSocket driven by hand (ASGI queues): (inbox, outbox, task), accepted."""
    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "scheme": "ws", "path": "/api/desk/ws", "raw_path": b"/api/desk/ws",
             "query_string": f"token={token}".encode(), "root_path": "",
             "headers": [(b"host", b"desk.test")], "client": ("127.0.0.1", 5),
             "server": ("desk.test", 80), "subprotocols": [], "state": {}}
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    assert (await asyncio.wait_for(outbox.get(), 5))["type"] == "websocket.accept"
    return inbox, outbox, task
