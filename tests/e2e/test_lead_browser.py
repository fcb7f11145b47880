"""The team lead's page in a real browser (Debian's Chromium driven by Playwright) on the real
service: a team lead signs in, sees an overdue complaint of their team first (in red), opens it,
dispatches it to a department and its head, and the timeline shows the step (R15); Postgres has
it. The call-backs section lists the open call-back tasks (R17).

Screenshots go to `test-artifacts/lead/` (HOTLINE_TEST_ARTIFACTS overrides the directory)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.callbacks.models import CallbackTask
from app.complaints.models import Complaint, ComplaintEvent, Department
from stack import paths
from tests.e2e.test_desk_browser import browser, web  # noqa: F401 - fixtures

pytestmark = pytest.mark.asterisk
PASSWORD = "lead-password-1"


def artifacts() -> Path:
    directory = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS", paths.REPO / "test-artifacts")) / "lead"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def _team(service) -> dict:
    """A team of one agent with a team lead, a department with its head, and two complaints
    owned by the agent: one received a day ago (its 60-minute dispatch long overdue), one fresh."""
    team = f"t{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/agents", json={
        "name": "林芳", "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
        "languages": ["zh"], "team": team, "contact": "sip:lin@127.0.0.1:5999"})
    assert resp.status_code == 201, resp.text
    agent = resp.json()
    lead = f"lead{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/users", json={
        "username": lead, "display_name": "王组长", "role": "team_lead", "password": PASSWORD,
        "team": team})
    assert resp.status_code == 201, resp.text
    resp = await service.post("/api/users", json={
        "username": f"head{uuid.uuid4().hex[:6]}", "display_name": "赵主任", "role": "manager",
        "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    head = resp.json()
    resp = await service.post("/api/departments", json={
        "name": f"供水 {team}", "head_user_id": head["id"]})
    assert resp.status_code == 201, resp.text
    department = resp.json()
    now = service.app.state.clock.now()
    numbers = [f"8{uuid.uuid4().int % 10**8:08d}", f"8{uuid.uuid4().int % 10**8:08d}"]
    async with service.app.state.sessionmaker() as session, session.begin():
        for number, age, summary in ((numbers[1], timedelta(minutes=5), "路灯不亮"),
                                     (numbers[0], timedelta(days=1), "停水三天无人处理")):
            session.add(Complaint(
                number=number, customer_number="+8613911112222", customer_name="陈先生",
                status="received", severity="general", summary=summary,
                owner_agent_id=uuid.UUID(agent["id"]), created_at=now - age,
                dispatch_due_at=now - age + timedelta(hours=1),
                handling_due_at=now - age + timedelta(days=7)))
        callback_number = f"+86137{uuid.uuid4().int % 10**8:08d}"
        session.add(CallbackTask(source="abandoned", status="open", language="zh",
                                 customer_number=callback_number, created_at=now,
                                 due_at=now + timedelta(hours=24), attempts=0, max_attempts=3))
    return {"callback_number": callback_number[3:],"agent": agent, "lead": lead, "head": head, "department": department,
            "overdue": numbers[0], "fresh": numbers[1]}


async def test_a_team_lead_sees_an_overdue_complaint_first_and_dispatches_it(
        service, web, browser):  # noqa: F811 - fixtures
    team = await _team(service)
    shots = artifacts()
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.goto(f"{web}/lead")

    await page.fill("#login [name=username]", team["lead"])
    await page.fill("#login [name=password]", PASSWORD)
    await page.keyboard.press("Enter")
    rows = page.locator("[data-testid=complaint-row]")
    await rows.first.wait_for()
    await page.screenshot(path=shots / "1-overdue-first.png", full_page=True)
    assert await page.is_hidden("[data-testid=team-filter]")  # a team lead sees their own team

    # R15: the overdue complaint comes first, in red; the fresh one after it
    assert await rows.count() == 2
    first = rows.nth(0)
    assert (await first.locator("td").first.inner_text()).strip() == team["overdue"]
    assert "overdue" in (await first.get_attribute("class"))
    assert "dispatch" in await first.locator("td").nth(5).inner_text()
    color = await first.locator("td").first.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(180, 35, 24)"  # var(--warn)
    assert "overdue" not in (await rows.nth(1).get_attribute("class") or "")

    # Open it: its deadlines and the workflow's next step
    await first.click()
    await page.wait_for_selector("[data-testid=detail]:not([hidden])")
    assert "OVERDUE" in await page.inner_text("[data-testid=detail-deadlines]")
    assert await page.is_enabled("[data-testid=to-dispatched]")
    assert await page.is_disabled("[data-testid=to-closed]")

    # Dispatch it to the department and its head
    await page.select_option("[data-testid=department]", team["department"]["id"])
    await page.select_option("[data-testid=assignee]", team["head"]["id"])
    await page.fill("[data-testid=note]", "请供水部门当天处理")
    await page.click("[data-testid=to-dispatched]")
    await page.wait_for_function(
        "document.querySelector('[data-testid=detail-status]').textContent === 'dispatched'")
    event = page.locator("[data-testid=timeline-event]").last
    await event.wait_for()
    timeline = await event.inner_text()
    assert "dispatch" in timeline and "received → dispatched" in timeline
    assert team["lead"] in timeline and "请供水部门当天处理" in timeline
    await page.screenshot(path=shots / "2-dispatched.png", full_page=True)

    # The list no longer shows it overdue (dispatched in time for handling)
    await page.wait_for_function(
        f"[...document.querySelectorAll('[data-testid=complaint-row]')]"
        f".some(r => r.cells[0].textContent === '{team['overdue']}' && r.cells[2].textContent"
        f" === 'dispatched' && !r.classList.contains('overdue'))")

    # The call-backs section lists the open tasks with a Call back button (R17)
    await page.click("[data-testid=refresh]")
    task = page.locator("[data-testid=callback-row]", has_text=team["callback_number"])
    await task.wait_for()
    assert "abandoned" in await task.inner_text()
    assert await task.locator("[data-testid=call-back]").is_enabled()
    assert await page.inner_text("[data-testid=callbacks-error]") == ""
    await page.screenshot(path=shots / "3-callbacks.png", full_page=True)

    async with service.app.state.sessionmaker() as session:
        complaint = await session.scalar(select(Complaint).where(
            Complaint.number == team["overdue"]))
        events = list(await session.scalars(select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id)))
        department = await session.get(Department, uuid.UUID(team["department"]["id"]))
    assert (complaint.status, complaint.department_id, str(complaint.assignee_user_id)) == (
        "dispatched", department.id, team["head"]["id"])
    assert [(e.event, e.actor, e.note) for e in events] == [
        ("dispatch", team["lead"], "请供水部门当天处理")]
    await page.close()


async def test_a_manager_narrows_the_complaints_to_one_team(service, web, browser):  # noqa: F811
    team = await _team(service)  # the department head is a manager
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await page.goto(f"{web}/lead")
    await page.fill("#login [name=username]", team["head"]["username"])
    await page.fill("#login [name=password]", PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("[data-testid=team-filter]", state="visible")
    await page.select_option("[data-testid=team-filter]", team["agent"]["team"])
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=complaint-row]').length === 2")
    rows = page.locator("[data-testid=complaint-row]")
    assert [(await rows.nth(i).locator("td").first.inner_text()).strip() for i in range(2)] == [
        team["overdue"], team["fresh"]]
    await page.screenshot(path=artifacts() / "4-manager-team-filter.png", full_page=True)
    await page.close()
