"""What a user sees when their account lacks the link its role relies on (R20): an agent user
not linked to an ACD agent, a team lead without a team. They see nothing, not "the rows whose
link is empty too". And an offer that never rang out on a call long over gives no access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.calls.models import Call
from app.complaints.models import Complaint
from tests.db.test_roles import prepare
from tests.support.desk import (T0, agent_row, client, create_user, fast_passwords, offer_row,
                                sign_in)

__all__ = ["fast_passwords"]


async def _get(app, token, url, **kw):
    async with client(app, token) as c:
        return await c.get(url, **kw)


async def _ownerless_complaint(app, manager_token) -> str:
    async with client(app, manager_token) as c:  # a manager takes one, off any call: no owner
        resp = await c.post("/api/complaints", json={"customer_name": "Qian",
                                                     "phone": "13700137000",
                                                     "summary": "rude courier"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["owner_agent_id"] is None
    return resp.json()["id"]


async def test_an_unlinked_agent_lists_no_complaints_not_the_ownerless_ones(sessionmaker,
                                                                          fast_passwords):  # R20
    app, world = await prepare(sessionmaker, ["manager"])
    await _ownerless_complaint(app, world.tokens["manager"])
    await create_user(app, "agent-unlinked", "agent")
    token = await sign_in(app, "agent-unlinked")
    resp = await _get(app, token, "/api/complaints")
    assert resp.status_code == 200, resp.text
    assert resp.json() == []


async def test_a_team_lead_without_a_team_lists_no_complaints(sessionmaker, fast_passwords):  # R20
    app, world = await prepare(sessionmaker, ["manager"])
    async with sessionmaker() as session, session.begin():  # an agent of no team owns one
        loner = agent_row("G", "8105", "north")
        loner.team = None
        session.add(loner)
        await session.flush()
        await session.execute(update(Complaint).where(Complaint.id == world.complaint_c.id)
                              .values(owner_agent_id=loner.id))
    await _ownerless_complaint(app, world.tokens["manager"])
    await create_user(app, "lead-nobody", "team_lead")
    token = await sign_in(app, "lead-nobody")
    resp = await _get(app, token, "/api/complaints")
    assert resp.status_code == 200, resp.text
    assert resp.json() == []
    resp = await _get(app, token, f"/api/complaints/{world.complaint_c.id}")
    assert resp.status_code == 403


async def test_a_team_lead_lists_only_their_teams_complaints(sessionmaker, fast_passwords):  # R20
    app, world = await prepare(sessionmaker, ["team_lead", "manager"])
    await _ownerless_complaint(app, world.tokens["manager"])
    listed = (await _get(app, world.tokens["team_lead"], "/api/complaints")).json()
    assert [c["id"] for c in listed] == [str(world.complaint_c.id)]  # A is north; theirs only


async def test_an_offer_left_unanswered_on_a_call_long_over_gives_no_access(sessionmaker,
                                                                            fast_passwords):  # R20
    """An offer whose outcome was never written (the service stopped while it rang) must not
    keep the customer on the agent's screen after the call has ended."""
    app, world = await prepare(sessionmaker, [])
    await create_user(app, "agent-e", "agent", agent_id=world.agent_e.id)
    async with sessionmaker() as session, session.begin():
        session.add(offer_row(world.call_c, world.agent_e, T0, None))
        await session.execute(update(Call).where(Call.id == world.call_c.id)
                              .values(ended_at=T0, state="ended"))
    app.state.clock.current = T0 + timedelta(days=2)
    token = await sign_in(app, "agent-e")  # a fresh session two days on
    assert (await _get(app, token, f"/api/customers/{world.customer_c.id}")).status_code == 403
    assert (await _get(app, token, f"/api/calls/{world.call_c.id}")).status_code == 403


async def test_an_unanswered_offer_on_an_ended_call_is_not_in_the_agents_call_list(
        sessionmaker, fast_passwords):  # R20: their calls are those they answered or ring now
    app, world = await prepare(sessionmaker, [])
    await create_user(app, "agent-e", "agent", agent_id=world.agent_e.id)
    token = await sign_in(app, "agent-e")
    async with sessionmaker() as session, session.begin():
        session.add(offer_row(world.call_c, world.agent_e, T0, None))
    listed = (await _get(app, token, "/api/calls")).json()["items"]
    assert [c["id"] for c in listed] == [str(world.call_c.id)]  # ringing now: theirs
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Call).where(Call.id == world.call_c.id)
                              .values(ended_at=T0, state="ended"))
    assert (await _get(app, token, "/api/calls")).json()["items"] == []
