"""Every page the service serves signs in through the one shared module, `/desk/auth.js` (R20):
the form it draws, a wrong password refused with the server's message, the right one opening
the page, and (where the page has the button) signing out bringing the form back and ending the
session. In Debian's Chromium driven by Playwright."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_desk_browser import browser, web  # noqa: F401 - fixtures

pytestmark = pytest.mark.asterisk
PASSWORD = "pages-password-01"

# page: (what shows once signed in, has a sign-out button)
PAGES = {"/desk": ("#desk", True), "/lead": ("#lead", True), "/dashboard": ("#report", False),
         "/qa": ("#qa", True)}


@pytest.mark.parametrize("path", list(PAGES))
async def test_each_page_signs_in_and_out_through_the_shared_module(
        service, web, browser, path):  # noqa: F811 - fixtures
    shown, signs_out = PAGES[path]
    username = f"mgr{uuid.uuid4().hex[:6]}"
    resp = await service.post("/api/users", json={
        "username": username, "display_name": "Manager", "role": "manager",
        "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    context = await browser.new_context()
    page = await context.new_page()
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    await page.goto(f"{web}{path}")

    form = page.locator("#login-panel form#login")
    await form.wait_for()
    assert any(url.endswith("/desk/auth.js") for url in scripts)
    await page.fill("#login [name=username]", username)
    await page.fill("#login [name=password]", "not the password")
    await page.keyboard.press("Enter")
    await page.wait_for_function("document.querySelector('#login-error').textContent !== ''")
    assert "wrong user name or password" in await page.inner_text("#login-error")
    assert await page.is_hidden(shown)

    await page.fill("#login [name=password]", PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_selector(shown, state="visible")
    assert await page.is_hidden("#login-panel")
    if signs_out:
        await page.click("#signout")
        await form.wait_for()
        assert await page.is_hidden(shown)
        # the session has ended: reloading the page asks to sign in again
        await page.reload()
        await page.locator("#login-panel form#login").wait_for()
        assert await page.is_hidden(shown)
    await context.close()
