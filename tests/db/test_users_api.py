"""User accounts (R20): a quality inspector is never linked to an ACD agent, since an agent link
brings screen pops with the caller's full number, name and address, and inspectors see numbers
masked everywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from tests.support.desk import (PASSWORD, admin_token, agent_row, client, create_user,
                                fast_passwords, make_app)

__all__ = ["fast_passwords"]


@pytest.fixture
async def setup(sessionmaker, fast_passwords):
    app = make_app(sessionmaker)
    async with sessionmaker() as session, session.begin():
        one = agent_row("X", "8301", "north")
        session.add(one)
    return app, one


async def test_an_inspector_cannot_be_created_with_an_agent_link(setup, sessionmaker):  # R20
    app, agent = setup
    async with client(app, admin_token(app)) as admin:
        resp = await admin.post("/api/users", json={
            "username": "qa-linked", "display_name": "QA", "role": "qa", "password": PASSWORD,
            "agent_id": str(agent.id)})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "inspector-not-an-agent"
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0


async def test_an_agent_user_cannot_become_an_inspector_while_linked(setup):  # R20
    app, agent = setup
    user = await create_user(app, "li.na", "agent", agent_id=agent.id)
    async with client(app, admin_token(app)) as admin:
        refused = await admin.patch(f"/api/users/{user['id']}", json={"role": "qa"})
        assert refused.status_code == 422 and refused.json()["error_id"] == "inspector-not-an-agent"
        assert (await admin.get("/api/users")).json()[0]["role"] == "agent"  # unchanged
        moved = await admin.patch(f"/api/users/{user['id']}", json={"role": "qa", "agent_id": None})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["role"], moved.json()["agent_id"]) == ("qa", None)


async def test_an_inspector_cannot_be_given_an_agent_link(setup):  # R20
    app, agent = setup
    user = await create_user(app, "zhou.qa", "qa")
    async with client(app, admin_token(app)) as admin:
        resp = await admin.patch(f"/api/users/{user['id']}", json={"agent_id": str(agent.id)})
    assert resp.status_code == 422 and resp.json()["error_id"] == "inspector-not-an-agent"


async def test_agents_team_leads_and_managers_may_be_linked(setup, sessionmaker):
    app, agent = setup
    async with sessionmaker() as session, session.begin():
        two, three = agent_row("Y", "8302", "north"), agent_row("Z", "8303", "north")
        session.add_all([two, three])
    await create_user(app, "agent-x", "agent", agent_id=agent.id)
    await create_user(app, "lead-y", "team_lead", agent_id=two.id, team="north")
    await create_user(app, "manager-z", "manager", agent_id=three.id)
