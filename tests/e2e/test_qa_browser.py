"""The quality inspectors' page in a real browser (Debian's Chromium driven by Playwright) on the
real service (R16): an inspector signs in, sees last month's worklist (samples of an agent's
recordings, re-assigned to them by a manager), plays a recording and seeks in it (served by
/api/recordings/{id}/file with ranges), sees the part the agent paused marked on the timeline,
scores it from the keyboard only, and finds the score in the monthly report; Postgres and the
audit log have it.

The recordings are rows and real WAV files made here, in the service's storage (recording real
calls through Asterisk is the recordings' own end-to-end test). Screenshots go to
`test-artifacts/qa/` (HOTLINE_TEST_ARTIFACTS overrides the directory)."""

from __future__ import annotations

import math
import os
import struct
import uuid
import wave
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.calls.models import Call
from app.qa import sampling
from app.qa.models import QaSample
from app.recordings.models import Recording, RecordingPause
from stack import paths
from tests.e2e.test_desk_browser import browser, web  # noqa: F401 - fixtures

pytestmark = pytest.mark.asterisk
PASSWORD = "qa-password-0001"
SECONDS = 20.0
PAUSE = (5.0, 8.0)  # the agent paused recording here (a card number): silence in the file


def artifacts() -> Path:
    directory = Path(os.environ.get("HOTLINE_TEST_ARTIFACTS", paths.REPO / "test-artifacts")) / "qa"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_wav(path: Path, seconds: float) -> bytes:
    """8 kHz mono 16-bit, a 440 Hz tone with the paused part silent, as Asterisk writes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 8000
    frames = bytearray()
    for n in range(int(seconds * rate)):
        t = n / rate
        level = 0 if PAUSE[0] <= t < PAUSE[1] else int(8000 * math.sin(2 * math.pi * 440 * t))
        frames += struct.pack("<h", level)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path.read_bytes()


async def _month_of_recordings(service) -> dict:
    """An agent with three stored recordings last month (one with a paused part), an inspector,
    the month sampled and the agent's samples re-assigned to the inspector (a manager's step)."""
    app = service.app
    settings = app.state.settings
    team = f"q{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/agents", json={
        "name": f"陈静 {team}", "extension": str(uuid.uuid4().int % 10**8), "level": "junior",
        "languages": ["zh"], "team": team, "contact": "sip:chen@127.0.0.1:5998"})
    assert resp.status_code == 201, resp.text
    agent = resp.json()
    inspector = f"qa{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/users", json={
        "username": inspector, "display_name": "质检 孙", "role": "qa", "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    inspector_id = resp.json()["id"]
    month = sampling.previous_month(app.state.clock.now(), settings.zone)
    start, _ = sampling.month_bounds(month, settings.zone)
    recordings = []
    async with app.state.sessionmaker() as session, session.begin():
        for day in (4, 14, 24):
            at = start + timedelta(days=day - 1, hours=10)
            call = Call(channel_id=f"qa-{uuid.uuid4().hex[:10]}", caller_number="13912345678",
                        caller_name="", dialed_number="95000", language="zh", state="ended",
                        started_at=at, last_seen_at=at, ended_at=at + timedelta(seconds=SECONDS),
                        queue="general", agent_id=uuid.UUID(agent["id"]))
            session.add(call)
            await session.flush()
            key = f"recordings/qa-test/{uuid.uuid4().hex}.wav"
            data = write_wav(Path(settings.storage_dir) / key, SECONDS)
            rec = Recording(name=f"qa-{uuid.uuid4().hex}", call_id=call.id,
                            agent_id=uuid.UUID(agent["id"]), queue="general", status="stored",
                            started_at=at, ended_at=at + timedelta(seconds=SECONDS),
                            duration_seconds=SECONDS, format="wav", size_bytes=len(data),
                            sha256="0" * 64, path=key,
                            retain_until=app.state.clock.now() + timedelta(days=3))
            session.add(rec)
            await session.flush()
            session.add(RecordingPause(recording_id=rec.id,
                                       started_at=at + timedelta(seconds=PAUSE[0]),
                                       ended_at=at + timedelta(seconds=PAUSE[1])))
            recordings.append(rec)
    resp = await service.post("/api/qa/samples", json={"month": month.strftime("%Y-%m")})
    assert resp.status_code == 200, resp.text
    samples = (await service.get("/api/qa/samples", params={
        "month": month.strftime("%Y-%m")})).json()["items"]
    ours = [s for s in samples if s["agent_id"] == agent["id"]]
    assert len(ours) == 3
    for s in ours:
        resp = await service.patch(f"/api/qa/samples/{s['id']}",
                                   json={"inspector_user_id": inspector_id})
        assert resp.status_code == 200, resp.text
    return {"agent": agent, "inspector": inspector, "inspector_id": inspector_id, "month": month,
            "recordings": recordings}


async def test_an_inspector_plays_a_recording_scores_it_from_the_keyboard_and_sees_the_report(
        service, web, browser):  # noqa: F811 - fixtures
    world = await _month_of_recordings(service)
    shots = artifacts()
    page = await browser.new_page(viewport={"width": 1280, "height": 1100})
    await page.goto(f"{web}/qa")

    # Sign in (the shared /desk/auth.js form)
    await page.fill("#login [name=username]", world["inspector"])
    await page.fill("#login [name=password]", PASSWORD)
    await page.keyboard.press("Enter")
    rows = page.locator("[data-testid=sample-row]")
    await rows.first.wait_for()
    assert await rows.count() == 3
    assert await page.input_value("[data-testid=month]") == world["month"].strftime("%Y-%m")
    assert world["agent"]["name"] in await rows.first.inner_text()
    assert "pending" in await rows.first.inner_text()
    # sampling again from the page adds nothing (R16: topping up, never twice)
    await page.click("[data-testid=sample]")
    await page.wait_for_function(
        "document.querySelector('[data-testid=worklist-status]').textContent.includes('0 added')")
    await page.screenshot(path=shots / "1-worklist.png", full_page=True)

    # Open the first sample from the keyboard: the player, the paused part on the timeline
    await rows.first.focus()
    await page.keyboard.press("Enter")
    mark = page.locator("[data-testid=pause-mark]")
    await mark.wait_for()
    assert await mark.count() == 1
    left = await mark.evaluate("e => parseFloat(e.style.left)")
    width = await mark.evaluate("e => parseFloat(e.style.width)")
    assert left == pytest.approx(100 * PAUSE[0] / SECONDS, abs=0.5)
    assert width == pytest.approx(100 * (PAUSE[1] - PAUSE[0]) / SECONDS, abs=0.5)
    assert "0:05–0:08" in await page.inner_text("[data-testid=pauses-note]")
    await page.wait_for_function(
        "document.querySelector('[data-testid=player]').readyState >= 1")
    duration = await page.evaluate("document.querySelector('[data-testid=player]').duration")
    assert duration == pytest.approx(SECONDS, abs=0.1)
    # Seekable: the file is served with ranges
    assert await page.evaluate(
        "(() => { const s = document.querySelector('[data-testid=player]').seekable;"
        " return s.length ? s.end(0) : 0 })()") == pytest.approx(SECONDS, abs=0.1)

    # Play (Alt+K), then seek forward 5 s (Alt+L) and by clicking the timeline at 75 %
    await page.keyboard.press("Alt+k")
    await page.wait_for_function(
        "document.querySelector('[data-testid=player]').currentTime > 0.3", timeout=10000)
    before = await page.evaluate("document.querySelector('[data-testid=player]').currentTime")
    await page.keyboard.press("Alt+l")
    after = await page.evaluate("document.querySelector('[data-testid=player]').currentTime")
    assert after >= before + 4.5
    box = await page.locator("[data-testid=timeline]").bounding_box()
    await page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + box["height"] / 2)
    await page.wait_for_function(
        "Math.abs(document.querySelector('[data-testid=player]').currentTime - 15) < 1")
    await page.keyboard.press("Alt+k")  # pause
    await page.screenshot(path=shots / "2-playing.png", full_page=True)

    # Score from the keyboard only: a digit per criterion (focus moves on), a comment, Ctrl+Enter
    await page.locator("[data-testid=greeting-1]").focus()
    for key in "45434":
        await page.keyboard.press(key)
    assert await page.evaluate("document.activeElement.id") == "comment"
    await page.keyboard.type("问候规范，归纳需求略慢")
    await page.keyboard.press("Control+Enter")
    await page.wait_for_function(
        "document.querySelector('[data-testid=score-status]').textContent.startsWith('saved')")
    assert "overall 4.00 (revision 1)" in await page.inner_text("[data-testid=score-status]")
    await page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=sample-row]')]"
        ".some(r => r.cells[6].textContent === 'scored' && r.cells[7].textContent === '4.00')")

    # The monthly report shows it: one scored of three, the lowest criterion
    report = page.locator("[data-testid=report-agents] [data-testid=report-row]",
                          has_text=world["agent"]["name"])
    await report.wait_for()
    cells = [c.strip() for c in await report.locator("td").all_inner_texts()]
    assert cells == [world["agent"]["name"], world["agent"]["team"], "3", "1", "4.00", "5.00",
                     "4.00", "3.00", "4.00", "4.00", "summary"]
    await page.screenshot(path=shots / "3-scored-and-report.png", full_page=True)
    await page.close()

    # The agent finds the score and the comment on their own desk (coaching; not the inspector)
    agent_user = f"ag{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/users", json={
        "username": agent_user, "display_name": world["agent"]["name"], "role": "agent",
        "password": PASSWORD, "agent_id": world["agent"]["id"]})
    assert resp.status_code == 201, resp.text
    desk = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await desk.goto(f"{web}/desk")
    await desk.fill("#login [name=username]", agent_user)
    await desk.fill("#login [name=password]", PASSWORD)
    await desk.keyboard.press("Enter")
    summary = desk.get_by_test_id("my-scores-summary")
    await summary.wait_for()
    assert f"{world['month'].strftime('%Y-%m')}: 1 scored, overall 4" in await summary.inner_text()
    await desk.click("#my-scores summary")
    row = desk.locator("[data-testid=my-scores-rows] tr")
    assert await row.count() == 1
    cells = [c.strip() for c in await row.locator("td").all_inner_texts()]
    assert cells[2:] == ["4", "5", "4", "3", "4", "4", "问候规范，归纳需求略慢"]
    assert "质检" not in await desk.inner_text("#my-scores")
    await desk.screenshot(path=shots / "4-agent-desk-scores.png", full_page=True)
    await desk.close()

    async with service.app.state.sessionmaker() as session:
        scored = list(await session.scalars(select(QaSample).where(
            QaSample.agent_id == uuid.UUID(world["agent"]["id"]),
            QaSample.scored_at.is_not(None))))
        kept = [(await session.get(Recording, r.id)).retain_until for r in world["recordings"]]
        entries = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.actor == world["inspector"]).order_by(AuditEntry.id)))
    assert len(scored) == 1
    # sampled, so kept past the review deadline (30 days), not the 3 days they had left
    assert all(k >= scored[0].review_due_at for k in kept)
    s = scored[0]
    assert ((s.greeting, s.attitude, s.tone, s.summary, s.unexpected), s.comment,
            str(s.scored_by_user_id)) == ((4, 5, 4, 3, 4), "问候规范，归纳需求略慢",
                                          world["inspector_id"])
    actions = [(e.entity, e.action, e.reason) for e in entries]
    assert ("recording", "view", "metadata") in actions        # R20: every access audited
    assert ("recording", "download", "listen") in actions
    assert ("qa_sample", "create", "score") in actions
    assert any(e.action == "download" and (e.detail or {}).get("range") for e in entries)
