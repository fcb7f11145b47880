"""GET /api/calls and /api/calls/{id}: bearer auth on every route, filters, pages, clear errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.calls import service
from app.main import create_app
from tests.support.settings import make_settings

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def client(sessionmaker, clock):
    settings = make_settings()
    app = create_app(settings, clock=clock)  # the test's clock, never today's
    app.state.sessionmaker = sessionmaker  # the lifespan (ARI, stream) is not needed here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}) as c:
        yield c


@pytest.fixture
async def calls(sessionmaker):
    async with sessionmaker() as session, session.begin():
        rows = []
        for i in range(3):
            row, _ = await service.open_call(
                session=session, channel_id=f"api-{i}", caller_number=f"1380013800{i}",
                caller_name="", dialed_number="95000", language="zh",
                started_at=T0 + timedelta(minutes=i))
            rows.append(row)
    return rows


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic dGVzdDp0ZXN0", "Bearer "])
async def test_api_refuses_requests_without_the_right_bearer_token(client, header):
    headers = {"Authorization": header} if header else {}
    client.headers.pop("Authorization")
    resp = await client.get("/api/calls", headers=headers)
    assert resp.status_code == 401
    assert resp.json()["error_id"] == "unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"


async def test_health_needs_no_token(client):
    client.headers.pop("Authorization")
    assert (await client.get("/health")).json() == {"status": "ok"}


async def test_calls_are_listed_newest_first_in_pages(client, calls):
    first = (await client.get("/api/calls", params={"limit": 2})).json()
    assert [c["channel_id"] for c in first["items"]] == ["api-2", "api-1"]
    second = (await client.get("/api/calls", params={"limit": 2,
                                                     "cursor": first["next_cursor"]})).json()
    assert [c["channel_id"] for c in second["items"]] == ["api-0"]
    assert second["next_cursor"] is None


async def test_calls_are_filtered_by_time_range(client, calls):
    resp = await client.get("/api/calls", params={"since": "2026-11-23T10:01:00+08:00",
                                                  "until": "2026-11-23T10:02:00+08:00"})
    assert [c["channel_id"] for c in resp.json()["items"]] == ["api-1"]


async def test_one_call_comes_with_its_timeline(client, calls):
    resp = await client.get(f"/api/calls/{calls[0].id}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["caller_number"] == "13800138000"
    assert [e["trigger"] for e in body["timeline"]] == ["arrived"]


@pytest.mark.parametrize(("path", "params", "status", "error_id"), [
    ("/api/calls", {"cursor": "garbage"}, 400, "invalid-cursor"),
    ("/api/calls", {"since": "2026-11-23T10:00:00"}, 400, "bad-request"),
    ("/api/calls", {"since": "2026-11-24T00:00:00Z", "until": "2026-11-23T00:00:00Z"}, 400,
     "invalid-range"),
    ("/api/calls", {"limit": 0}, 422, "invalid-request"),
    ("/api/calls", {"limit": 501}, 422, "invalid-request"),
    ("/api/calls/not-a-uuid", {}, 422, "invalid-request"),
    (f"/api/calls/{uuid.uuid4()}", {}, 404, "not-found"),
    ("/api/nothing-here", {}, 404, "not-found"),
])
async def test_bad_requests_get_a_clear_error(client, calls, path, params, status, error_id):
    resp = await client.get(path, params=params)
    assert resp.status_code == status, resp.text
    assert resp.json()["error_id"] == error_id
    assert resp.json()["message"]


@pytest.mark.parametrize(("body", "status", "error_id"), [
    ({"queue": "complaints"}, 404, "no-live-call"),
    ({}, 422, "invalid-request"),
    ({"queue": "Not A Name"}, 422, "invalid-request"),
    ({"queue": "x", "extra": 1}, 422, "invalid-request"),
])
async def test_a_transfer_needs_a_target_and_a_live_call(client, calls, body, status, error_id):
    resp = await client.post(f"/api/calls/{calls[0].id}/transfer", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["error_id"] == error_id
