"""The ARI event websocket: connect, parse, hand events on; reconnect with backoff when it drops.

Asterisk does not replay events missed while the socket was down, so every (re)connect calls
`on_connect` (the service reconciles its calls with `GET /channels` there). `on_connect` runs as a
task beside the reader, so events that arrive meanwhile are not held up behind it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import structlog
import websockets
from websockets.asyncio.client import ClientConnection, connect

from app.ari.backoff import Backoff
from app.ari.events import AriEvent, parse_event
from app.config import AriSettings

log = structlog.get_logger(__name__)

EventSink = Callable[[AriEvent], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]


def events_url(settings: AriSettings) -> str:
    parts = urlsplit(settings.url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = urlencode({"app": settings.app, "subscribeAll": "false"})
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ari/events", query, ""))


class EventStream:
    def __init__(self, settings: AriSettings, *, on_event: EventSink, on_connect: Hook,
                 on_disconnect: Hook | None = None, backoff: Backoff | None = None) -> None:
        self.settings = settings
        self._on_event = on_event
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self.backoff = backoff or Backoff(minimum=settings.reconnect_min_seconds,
                                          maximum=settings.reconnect_max_seconds)
        self.connected = False
        self.connect_count = 0
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected_event = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="ari-event-stream")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected_event.wait(), timeout)

    async def drop_connection(self) -> None:
        """Close the socket as if the network dropped it; `run` reconnects (ops and tests)."""
        if self._ws is not None:
            await self._ws.close(code=1001, reason="dropped on request")

    async def run(self) -> None:
        url = events_url(self.settings)
        secret = f"{self.settings.user}:{self.settings.password.get_secret_value()}"
        headers = {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
        while True:
            reconcile: asyncio.Task[None] | None = None
            try:
                async with connect(url, additional_headers=headers, open_timeout=10,
                                   ping_interval=10, ping_timeout=10, max_size=None) as ws:
                    self._ws = ws
                    self.connected = True
                    self.connect_count += 1
                    self._connected_event.set()
                    self.backoff.reset()
                    log.info("ari.stream.connected", url=url, connects=self.connect_count)
                    reconcile = asyncio.create_task(self._run_hook(self._on_connect, "on_connect"))
                    async for message in ws:
                        event = parse_event(message)
                        if event is None:
                            continue
                        try:
                            await self._on_event(event)
                        except Exception:  # one bad event never stops the stream
                            log.exception("ari.stream.event_failed", type=event.type)
                log.warning("ari.stream.closed")
            except asyncio.CancelledError:
                raise
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as exc:
                log.warning("ari.stream.unavailable", error=repr(exc), attempt=self.backoff.attempt)
            except Exception:
                log.exception("ari.stream.error")
            finally:
                self._ws = None
                if reconcile is not None and not reconcile.done():
                    reconcile.cancel()
                if self.connected:
                    self.connected = False
                    self._connected_event.clear()
                    if self._on_disconnect is not None:
                        await self._run_hook(self._on_disconnect, "on_disconnect")
            await asyncio.sleep(self.backoff.next_delay())

    async def _run_hook(self, hook: Hook, name: str) -> None:
        try:
            await hook()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("ari.stream.hook_failed", hook=name)
