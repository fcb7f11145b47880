"""Limits before work (#20, R20): bodies capped before they are read (413 `body-too-large`, the
menu upload with its own cap), failed bearer tokens rate-limited like passwords, WebSocket
messages capped in size and rate."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import LoginAttempt
from app.limits import MessageBudget
from ivr.runtime import MenuRuntime
from tests.db.test_call_flow import DEMO
from tests.support.desk import admin_token, client, fast_passwords, make_app, open_desk_socket

__all__ = ["fast_passwords"]


async def _attempts(sessionmaker) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(LoginAttempt))


async def test_a_body_over_the_cap_is_refused_413_before_the_route_reads_it(sessionmaker):
    app = make_app(sessionmaker, max_body_bytes=1024)
    before = await _attempts(sessionmaker)
    big = b'{"username": "x", "password": "' + b"p" * 5000 + b'"}'
    async with client(app) as c:
        resp = await c.post("/api/auth/login", content=big,
                            headers={"content-type": "application/json"})
        assert (resp.status_code, resp.json()["error_id"]) == (413, "body-too-large")
        assert resp.json()["details"] == {"max_bytes": 1024}

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 512

        chunked = await c.post("/api/auth/login", content=chunks(),
                               headers={"content-type": "application/json"})
        assert (chunked.status_code, chunked.json()["error_id"]) == (413, "body-too-large")
        small = await c.post("/api/auth/login", json={"username": "x", "password": "y" * 12})
        assert small.status_code == 401
    assert await _attempts(sessionmaker) == before + 1  # only the small one reached the sign-in


async def test_a_menu_upload_has_its_own_cap(sessionmaker):
    app = make_app(sessionmaker, max_body_bytes=1024, ivr_max_bytes=8192, ivr_file=DEMO)
    app.state.menus = MenuRuntime(settings=app.state.settings, sessionmaker=sessionmaker)
    await app.state.menus.start()
    async with client(app, admin_token(app)) as c:
        within = await c.put("/api/ivr", content=b"# menu\n" * 600,
                             headers={"content-type": "text/yaml"})
        assert within.status_code == 422, within.text  # read (and refused as a menu)
        over = await c.put("/api/ivr", content=b"# menu\n" * 2000,
                           headers={"content-type": "text/yaml"})
        assert (over.status_code, over.json()["error_id"]) == (413, "body-too-large")


async def test_failed_bearer_tokens_from_one_address_are_rate_limited(sessionmaker):
    app = make_app(sessionmaker, login_max_failures=2)  # 8 x 2 failures per address
    async with client(app) as c:
        for _ in range(16):
            resp = await c.get("/api/auth/me", headers={"Authorization": "Bearer guess"})
            assert resp.status_code == 401
        limited = await c.get("/api/auth/me", headers={"Authorization": "Bearer guess"})
        assert (limited.status_code, limited.json()["error_id"]) == (429, "too-many-attempts")
        assert int(limited.headers["retry-after"]) > 0
        right = await c.get("/api/auth/me",
                            headers={"Authorization": f"Bearer {admin_token(app)}"})
        assert right.status_code == 429  # like passwords: even the right one, for a while
    app.state.clock.advance(16 * 60)
    async with client(app, admin_token(app)) as c:
        assert (await c.get("/api/auth/me")).status_code == 200


def test_a_websocket_message_budget_refuses_big_and_fast_messages():
    now = [0.0]
    budget = MessageBudget(max_bytes=100, per_second=2, burst=3, clock=lambda: now[0])
    assert budget.refusal("x" * 101) == MessageBudget.TOO_BIG
    assert [budget.refusal("{}") for _ in range(4)] == [None, None, None, MessageBudget.TOO_FAST]
    now[0] += 0.5
    assert budget.refusal("{}") is None


@pytest.mark.parametrize(("messages", "code"), [
    (["x" * 5000], 1009),                 # one message over ws_max_message_bytes
    (['{"type": "ping"}'] * 30, 1008),    # more than the burst at once
])
async def test_a_desk_socket_sending_too_much_is_closed(sessionmaker, fast_passwords, messages,
                                                       code):
    import asyncio

    from tests.db.test_roles import prepare

    app, world = await prepare(sessionmaker, ["agent"])
    app.state.settings = app.state.settings.model_copy(update={"ws_messages_per_second": 0.01})
    inbox, outbox, task = await open_desk_socket(app, world.tokens["agent"])
    try:
        for text in messages:
            await inbox.put({"type": "websocket.receive", "text": text})
        sent = await asyncio.wait_for(outbox.get(), 5)
        assert (sent["type"], sent.get("code")) == ("websocket.close", code), sent
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
