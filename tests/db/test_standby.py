"""Apps with their whole lifespan on one database (R21, app/role.py): the first takes the lease
and runs, a second is a standby whose /ready says so and whose /api refuses; when the first stops,
the second takes over; ApplicationReplaced fences and steps down. No Asterisk: ARI points at a closed port (the active one says
"asterisk down"). A database of this module's own: the active instance's jobs commit."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.ari.events import parse_event
from app.main import create_app
from tests.support.database import throwaway_database
from tests.support.settings import make_settings


@pytest.fixture(scope="module")
def own_database(database_server):
    with throwaway_database(database_server, "hotline_test_role") as url:
        yield url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(database_url: str, tmp_path):
    return make_settings(database_url=database_url, ari_url=f"http://127.0.0.1:{closed_port()}",
                         ari_app="role-test", storage_dir=tmp_path,
                         lease_heartbeat_seconds=0.2, lease_fence_seconds=1.0,
                         lease_session_timeout_seconds=2.0)


def client(app) -> httpx.AsyncClient:
    token = app.state.settings.admin_token.get_secret_value()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                             headers={"Authorization": f"Bearer {token}"})


async def test_a_second_instance_is_a_standby_that_says_so_and_refuses_the_api(own_database, tmp_path):
    first = create_app(settings_for(own_database, tmp_path))
    second = create_app(settings_for(own_database, tmp_path))
    async with LifespanManager(first, startup_timeout=30, shutdown_timeout=30):
        async with LifespanManager(second, startup_timeout=30, shutdown_timeout=30):
            async with client(first) as one, client(second) as two:
                ready = (await one.get("/ready")).json()
                assert (ready["role"], ready["lease"], ready["why"]) == (
                    "active", "held", "asterisk down")  # ARI is nowhere in this test
                assert (await one.get("/api/agents")).status_code == 200

                resp = await two.get("/ready")
                assert resp.status_code == 503
                assert (resp.json()["role"], resp.json()["why"]) == ("standby", "standby")
                assert resp.json()["lease"] == "held by another instance"
                assert (await two.get("/health")).json() == {"status": "ok"}
                refused = await two.get("/api/agents")
                assert (refused.status_code, refused.json()["error_id"]) == (503, "standby")
                assert second.state.stream._task is None  # no event stream on a standby


async def test_a_standby_takes_over_when_the_active_one_stops(own_database, tmp_path):
    first = create_app(settings_for(own_database, tmp_path))
    second = create_app(settings_for(own_database, tmp_path))
    manager = LifespanManager(first, startup_timeout=30, shutdown_timeout=30)
    await manager.__aenter__()
    stopped = False
    try:
        async with LifespanManager(second, startup_timeout=30, shutdown_timeout=30):
            assert not second.state.role.active
            await manager.__aexit__(None, None, None)  # the active one stops, releasing the lease
            stopped = True
            deadline = time.monotonic() + 15
            while not second.state.role.active:
                assert time.monotonic() < deadline, second.state.role.describe()
                await asyncio.sleep(0.05)
            async with client(second) as two:
                ready = (await two.get("/ready")).json()
                assert ready["role"] == "active" and ready["why"] == "asterisk down"
                assert (await two.get("/api/agents")).status_code == 200
            assert second.state.stream._task is not None  # it runs the event stream now
    finally:
        if not stopped:
            await manager.__aexit__(None, None, None)


async def test_application_replaced_steps_an_embedded_instance_down(own_database, tmp_path):
    app = create_app(settings_for(own_database, tmp_path))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        assert app.state.role.active
        event = parse_event('{"type": "ApplicationReplaced", "application": "role-test", '
                            '"timestamp": "2026-11-23T02:00:00.000+0000"}')
        await app.state.stasis.on_event(event)
        assert not app.state.ari._fence()  # fenced at once, before anything else runs
        deadline = time.monotonic() + 10
        while app.state.stream._task is not None:  # the event stream is stopped
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        async with client(app) as c:
            ready = await c.get("/ready")
            assert ready.status_code == 503 and ready.json()["role"] == "stepped-down"
            assert "ApplicationReplaced" in ready.json()["lease"]
