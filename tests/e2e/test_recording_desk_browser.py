"""The desk's recording pause in a real browser (R16): an agent on a recorded call sees that it
is recorded, pauses it with Alt+M and resumes it with the button; the pause is marked in
Postgres. Screenshots in `test-artifacts/desk/`."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from app.recordings.models import Recording, RecordingPause
from phones.sipp import AgentPhone, Caller, Pause, RunningPhone, Speak, free_udp_port, keys
from phones.sipp import call as sipp_call
from tests.e2e.conftest import prompt_ms, wait_for_call
from tests.e2e.test_desk_browser import artifacts, browser, web  # noqa: F401 - fixtures

pytestmark = pytest.mark.asterisk
CALLER = "13877778001"


async def test_an_agent_pauses_and_resumes_the_recording_from_the_desk(
        service, web, browser, asterisk_instance):  # noqa: F811
    phone = await RunningPhone(AgentPhone(port=free_udp_port(), user="qin", answer_after_ms=400,
                                          echo=True)).start()
    resp = await service.post("/api/queues", json={
        "name": "general", "call_type": "consultation", "max_wait_seconds": 60,
        "wrap_up_seconds": 1, "record_calls": True})
    assert resp.status_code == 201, resp.text
    resp = await service.post("/api/agents", json={
        "name": "秦", "extension": str(uuid.uuid4().int % 10**8), "level": "senior",
        "languages": ["zh", "en"], "contact": phone.phone.contact})
    assert resp.status_code == 201, resp.text
    agent = resp.json()
    username, password = f"qin{uuid.uuid4().hex[:6]}", "desk-password-1"
    resp = await service.post("/api/users", json={
        "username": username, "display_name": "秦", "role": "agent", "password": password,
        "agent_id": agent["id"]})
    assert resp.status_code == 201, resp.text
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        await page.goto(f"{web}/desk")
        await page.fill("#login [name=username]", username)
        await page.fill("#login [name=password]", password)
        await page.keyboard.press("Enter")
        await page.wait_for_function(
            "document.querySelector('#state').textContent === 'logged_out'")
        await page.get_by_test_id("ready").click()
        await page.wait_for_function(
            "document.querySelector('#state').textContent.startsWith('ready')")

        script = keys("0", first_after_ms=prompt_ms(service, "greeting") + 700) + (
            Pause(prompt_ms(service, "transferring") + 1000), Speak(), Speak())
        talk_ms = sum(s.ms for s in script if isinstance(s, (Pause, Speak))) + 500
        caller = asyncio.create_task(sipp_call(Caller(number=CALLER, script=script,
                                                      hangup_after_ms=talk_ms),
                                               sip_port=asterisk_instance.sip_port))
        badge = page.get_by_test_id("recording")
        assert not await badge.is_visible()  # no call, no recording
        await badge.wait_for(state="visible", timeout=talk_ms)
        assert await badge.text_content() == "● recording"
        assert await page.get_by_test_id("rec-toggle").is_visible()
        await page.keyboard.press("Alt+m")
        await page.wait_for_function(
            "document.querySelector('[data-testid=recording]').textContent.includes('paused')")
        await page.screenshot(path=artifacts() / "4-recording-paused.png", full_page=True)
        await asyncio.sleep(1.0)
        await page.get_by_test_id("rec-toggle").click()
        await page.wait_for_function(
            "document.querySelector('[data-testid=recording]').textContent === '● recording'")
        result = await caller
        assert result.ok, result.output + result.errors
        call = await wait_for_call(service, CALLER)
        await page.wait_for_function(
            "document.querySelector('[data-testid=recording]').hidden === true")
        async with service.app.state.sessionmaker() as session:
            [recording] = list(await session.scalars(
                select(Recording).where(Recording.call_id == uuid.UUID(call["id"]))))
            [pause] = list(await session.scalars(
                select(RecordingPause).where(RecordingPause.recording_id == recording.id)))
        assert pause.ended_at is not None
        assert 0.8 < (pause.ended_at - pause.started_at).total_seconds() < 5
    finally:
        await page.close()
        await service.post(f"/api/agents/{agent['id']}/state", json={"state": "logged_out"})
        await asyncio.sleep(0.2)
        assert (await service.delete("/api/queues/general")).status_code == 204
        await phone.stop()
