"""The report pages of #18 in a real browser (Debian's Chromium driven by Playwright) on the real
service: a manager signs in on /staffing and sees, for Monday of this week, the agents each
half-hour needs (Erlang C: 100 calls a half-hour at 180 s AHT, 80 % within 20 s, is 14) beside
the one agent who was logged in, the short intervals marked, and the CSV link (R19); reads the
monthly analysis of the month (R18); and finds the three-ring figures on the dashboard.

The history is rows written here (four Mondays before this week, in a queue of its own);
the dates come from the service's clock. Screenshots go to `test-artifacts/staffing/`
(HOTLINE_TEST_ARTIFACTS overrides the directory)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.calls.models import Call
from app.reports import rollup
from app.reports.queries import week_start
from routing.models import AgentRow, AgentStateChange, QueueRow
from stack import paths
from tests.e2e.test_desk_browser import browser, web  # noqa: F401 - fixtures

pytestmark = pytest.mark.asterisk
PASSWORD = "manager-password-01"
QUEUE = "staffing-e2e"


def artifacts() -> Path:
    directory = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS", paths.REPO / "test-artifacts")) / "staffing"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def _four_mondays(service) -> str:
    """100 calls between 09:00 and 09:30 on each of the four Mondays before this week; one
    agent logged in 09:00-10:00. This week's Monday, as the page's `week`."""
    settings = service.app.state.settings
    monday = week_start(service.app.state.clock.now(), settings.zone)
    async with service.app.state.sessionmaker() as session, session.begin():
        if await session.scalar(select(QueueRow).where(QueueRow.name == QUEUE)) is not None:
            return monday.date().isoformat()  # written by the other test of the module
        session.add(QueueRow(name=QUEUE, call_type="consultation"))
        agent = AgentRow(name="staffing wang", extension=str(uuid.uuid4().int % 10**8),
                         level="senior", skills={}, languages=["zh"],
                         contact="sip:wang@127.0.0.1:5999")
        session.add(agent)
        await session.flush()
        for week in range(1, 5):
            nine = monday - timedelta(weeks=week) + timedelta(hours=9)
            session.add_all([
                AgentStateChange(agent_id=agent.id, at=nine, from_state="logged_out",
                                 to_state="ready", event="log_in"),
                AgentStateChange(agent_id=agent.id, at=nine + timedelta(hours=1),
                                 from_state="ready", to_state="logged_out", event="log_out")])
            for i in range(100):
                start = nine + timedelta(seconds=17 * i)
                session.add(Call(
                    channel_id=f"staffing-{uuid.uuid4()}", direction="inbound",
                    caller_number="+8613800000001", language="zh", state="ended",
                    started_at=start, last_seen_at=start, queue=QUEUE,
                    enqueued_at=start + timedelta(seconds=1),
                    connected_at=start + timedelta(seconds=3),
                    ended_at=start + timedelta(seconds=183), end_reason="completed",
                    agent_id=agent.id))
    # the service's rollups were made at its start: bring them up to date with these rows
    async with service.app.state.sessionmaker() as session, session.begin():
        await rollup.refresh(session=session, params=rollup.params_of(settings),
                             now=service.app.state.clock.now())
    return monday.date().isoformat()


async def _manager(service) -> None:
    resp = await service.post("/api/users", json={
        "username": "staffing-manager", "display_name": "主任 周", "role": "manager",
        "password": PASSWORD})
    assert resp.status_code in (201, 409), resp.text


async def _signed_in(browser, url: str, height: int):
    """A page at `url`, signed in as the manager through the shared form; its page errors."""
    page = await browser.new_page(viewport={"width": 1400, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append(d.message))
    await page.goto(url)
    await page.fill("#login [name=username]", "staffing-manager")
    await page.fill("#login [name=password]", PASSWORD)
    await page.keyboard.press("Enter")
    return page, errors


async def test_a_manager_sees_agents_needed_beside_agents_logged_in_per_half_hour(
        service, web, browser):  # noqa: F811 - fixtures
    week = await _four_mondays(service)
    await _manager(service)
    shots = artifacts()
    page, errors = await _signed_in(
        browser, f"{web}/staffing?week={week}&day=0&queue={QUEUE}&answer_seconds=20", 1100)

    rows = page.locator("[data-testid=intervals] tbody tr")
    await rows.first.wait_for()
    assert not errors, errors
    nine = page.locator("[data-testid=intervals] tbody tr", has_text=f"{week} 09:00")
    cells = await nine.locator("td").all_inner_texts()
    # start, calls, AHT, Erlangs, needed, Erlang C, Erlang A, expected SL, logged in, short
    assert cells[1:7] == ["100", "180 s", "10", "14", "14", "–"]
    assert cells[7] == "88.8 %" and cells[8] == "1" and cells[9] == "13"
    assert await nine.get_attribute("class") == "warn"
    bars = page.locator("[data-testid=staffing-chart] rect[data-needed]")
    assert await bars.count() == 48
    assert await bars.nth(18).get_attribute("data-needed") == "14"  # 09:00 is the 19th slot
    assert await page.locator("[data-testid=logged-in]").count() == 1
    kpis = await page.locator("[data-testid=kpis]").inner_text()
    assert "Erlang C" in kpis and "14" in kpis
    assert (await page.get_attribute("#csv", "href")).startswith("/api/reports/staffing?")
    await page.screenshot(path=shots / "1-monday.png", full_page=True)

    await page.select_option("#filters [name=day]", "all")
    await page.click("#filters button")
    await page.wait_for_function(
        "document.querySelectorAll('[data-testid=staffing-chart] rect[data-needed]').length === 336")
    await page.screenshot(path=shots / "2-week.png", full_page=True)
    await page.close()


async def test_a_manager_reads_the_monthly_analysis_of_the_month(service, web, browser):  # noqa: F811
    """R18 (#18): /monthly for the month of the last of those Mondays: the queue's calls, its
    service level within its threshold, the days charted, printable."""
    from datetime import date

    week = date.fromisoformat(await _four_mondays(service))
    await _manager(service)
    last_monday = week - timedelta(weeks=1)
    month = last_monday.strftime("%Y-%m")
    calls = 100 * sum(1 for n in range(1, 5)
                      if (week - timedelta(weeks=n)).strftime("%Y-%m") == month)
    page, errors = await _signed_in(browser, f"{web}/monthly?month={month}", 1400)
    row = page.locator("[data-testid=queues] tbody tr", has_text=QUEUE)
    await row.wait_for()
    cells = await row.locator("td").all_inner_texts()
    limit = service.app.state.settings.ring_limit_seconds  # 3 s here: answered in 2 s
    assert cells[1] == str(calls) and cells[2] == "100.0 %" and cells[3] == f"{limit:g} s"
    assert await page.input_value("[data-testid=month]") == month
    assert await page.locator(f"[data-testid=by-day] rect[data-day='{last_monday}']").count() == 3
    assert await page.locator("[data-testid=rates] polyline").count() == 3
    assert not errors, errors
    await page.screenshot(path=artifacts() / "3-monthly.png", full_page=True)
    await page.emulate_media(media="print")
    assert not await page.locator("form.filters").is_visible()
    await page.close()


async def test_the_dashboard_shows_the_three_ring_figures_that_can_fall(service, web, browser):  # noqa: F811
    """#18: the dashboard's tiles carry the per-offer and per-call three-ring figures and AHT."""
    await _four_mondays(service)
    await _manager(service)
    page, errors = await _signed_in(browser, f"{web}/dashboard", 1000)
    kpis = page.locator("[data-testid=kpis] .kpi")
    await kpis.first.wait_for()
    labels = await page.locator("[data-testid=kpis] .kpi small:first-child").all_inner_texts()
    assert {"Three-ring compliance", "Answered by the first phone", "Answered within three rings",
            "AHT"} <= set(labels)
    assert not errors, errors
    await page.screenshot(path=artifacts() / "4-dashboard.png", full_page=True)
    await page.close()
