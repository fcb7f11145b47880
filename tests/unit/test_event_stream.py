"""The event stream against a local websocket server: parses, survives bad events, reconnects."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.server import serve

from app.ari.events import StasisEnd
from app.ari.stream import EventStream
from app.config import AriSettings
from tests.support import events as ev


async def test_stream_skips_bad_messages_survives_a_failing_handler_and_reconnects():
    connections = 0
    auth_headers = []

    async def server(ws):
        nonlocal connections
        connections += 1
        auth_headers.append(ws.request.headers.get("Authorization"))
        assert "app=hotline" in ws.request.path
        await ws.send("this is not json")
        await ws.send(json.dumps(ev.raw("NoSuchEvent")))
        await ws.send(json.dumps(ev.stasis_end("boom")))       # its handler raises
        await ws.send(json.dumps(ev.stasis_end(f"ok-{connections}")))
        await asyncio.sleep(0.05)
        if connections == 1:
            await ws.close()  # the network drops: the client must come back
        else:
            await ws.wait_closed()

    received: list[str] = []
    connects = 0

    async def on_event(event):
        assert isinstance(event, StasisEnd)
        if event.channel.id == "boom":
            raise RuntimeError("handler bug")
        received.append(event.channel.id)

    async def on_connect():
        nonlocal connects
        connects += 1

    async with serve(server, "127.0.0.1", 0) as srv:
        port = srv.sockets[0].getsockname()[1]
        settings = AriSettings(url=f"http://127.0.0.1:{port}", password="pw",
                               reconnect_min_seconds=0.05, reconnect_max_seconds=0.1)
        stream = EventStream(settings, on_event=on_event, on_connect=on_connect)
        stream.start()
        for _ in range(100):
            if received == ["ok-1", "ok-2"]:
                break
            await asyncio.sleep(0.05)
        await stream.stop()
    assert received == ["ok-1", "ok-2"]
    assert connects == 2 and stream.connect_count == 2
    assert stream.backoff.attempt == 0  # reset after the successful reconnect
    assert all(h and h.startswith("Basic ") for h in auth_headers)
