"""The ARI REST client maps Asterisk's answers to our exception types; the HTTP edge maps those."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app import errors
from app.ari.client import AriClient
from app.ari.errors import AriBadRequest, AriConflict, AriNotFound, AriUnavailable
from app.config import AriSettings


def client_answering(status: int, body: object = None, *, raise_exc: Exception | None = None):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if raise_exc is not None:
            raise raise_exc
        return httpx.Response(status, json=body if body is not None else {"message": "x"})

    settings = AriSettings(url="http://ari.test:8088", password="pw")
    return AriClient(settings, transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize(("status", "exc"), [
    (404, AriNotFound), (409, AriConflict), (422, AriBadRequest), (400, AriBadRequest),
    (500, AriUnavailable), (503, AriUnavailable),
])
async def test_error_statuses_become_our_exceptions(status, exc):
    client, _ = client_answering(status, {"message": "Channel not found"})
    with pytest.raises(exc, match="Channel not found"):
        await client.answer("ch-1")


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_unreachable_asterisk_is_unavailable(failure):
    client, _ = client_answering(200, raise_exc=failure)
    with pytest.raises(AriUnavailable):
        await client.list_channels()


async def test_play_sends_media_language_and_our_playback_id_with_basic_auth():
    client, seen = client_answering(200, {"id": "call-1.greeting", "state": "queued",
                                          "target_uri": "channel:ch-1"})
    playback = await client.play("ch-1", ["sound:/p/zh/greeting"], playback_id="call-1.greeting",
                                 lang="zh")
    assert playback.id == "call-1.greeting"
    request = seen[0]
    assert request.url.path == "/ari/channels/ch-1/play/call-1.greeting"
    assert request.url.params["media"] == "sound:/p/zh/greeting"
    assert request.url.params["lang"] == "zh"
    assert request.headers["authorization"].startswith("Basic ")


async def test_a_missing_playback_is_none_not_an_error():
    client, _ = client_answering(404)
    assert await client.get_playback("gone") is None


async def test_http_edge_answers_503_asterisk_unavailable_when_ari_is_down():
    app = FastAPI()
    errors.install(app)

    @app.get("/needs-ari")
    async def needs_ari() -> None:
        raise AriUnavailable("refused")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        resp = await c.get("/needs-ari")
    assert resp.status_code == 503
    assert resp.json()["error_id"] == "asterisk-unavailable"


async def test_live_recording_calls_reach_their_ari_paths():  # R16
    client, seen = client_answering(204)
    await client.mute_live_recording("call-x-1")
    await client.unmute_live_recording("call-x-1")
    await client.stop_live_recording("call-x-1")
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/ari/recordings/live/call-x-1/mute"),
        ("DELETE", "/ari/recordings/live/call-x-1/mute"),
        ("POST", "/ari/recordings/live/call-x-1/stop")]


async def test_a_live_recording_that_has_finished_is_none_and_stopping_it_is_fine():  # R16
    client, _ = client_answering(404)
    assert await client.get_live_recording("done") is None
    await client.stop_live_recording("done")  # no error: it ended already
    with pytest.raises(AriNotFound):  # but muting what is not recording is refused
        await client.mute_live_recording("done")
