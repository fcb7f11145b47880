"""Limits before work (#20, R20): a request body is capped before the route reads it, and what a
WebSocket client sends is capped in size and rate, so that no client makes the service hold or
parse more than it needs while it is driving calls.

- `BodyLimit` (ASGI middleware): a `Content-Length` over the cap is answered 413 `body-too-large`
  at once, nothing read; a body without one (chunked) is counted as it arrives and refused the
  moment it passes the cap. Some routes have their own cap (`PUT /api/ivr`, a menu's YAML).
- `FailureWindow`: failed bearer tokens (or session cookies) counted per address over the sign-in
  window; past the limit that address gets 429 `too-many-attempts`, as sign-ins do.
- `MessageBudget`: a WebSocket reader's allowance: messages of at most `max_bytes`, and at most
  `burst` at once refilled at `per_second` (a token bucket on an injected monotonic clock).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ERROR_ID = "body-too-large"


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a body passes its cap (app.errors: 413 `body-too-large`)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"the request body is over {cap} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 routes: Mapping[tuple[str, str], int] | None = None) -> None:
        self.app, self.max_bytes, self.routes = app, max_bytes, dict(routes or {})

    def cap(self, scope: Scope) -> int:
        return self.routes.get((scope.get("method", ""), scope.get("path", "")), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap(scope)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await _refuse(send, cap)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"error_id": ERROR_ID, "message": f"the request body is over {cap} bytes",
                       "details": {"max_bytes": cap}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class MessageBudget:
    """Whether a WebSocket client's next message is within its size and rate allowance."""

    TOO_BIG, TOO_FAST = 1009, 1008  # WebSocket close codes: message too big, policy violation

    def __init__(self, *, max_bytes: int, per_second: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes, self.per_second, self.burst = max_bytes, per_second, burst
        self.clock = clock
        self.tokens, self.at = float(burst), clock()

    def refusal(self, message: str | bytes) -> int | None:
        """None when the message may be handled, else the close code to end the socket with."""
        size = len(message.encode() if isinstance(message, str) else message)
        if size > self.max_bytes:
            return self.TOO_BIG
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens < 1:
            return self.TOO_FAST
        self.tokens -= 1
        return None


def settings_routes(ivr_max_bytes: int) -> dict[tuple[str, str], Any]:
    """The routes with a cap of their own."""
    return {("PUT", "/api/ivr"): ivr_max_bytes}


class FailureWindow:
    """Failures per key (a client address) within `window`; at most `max_keys` addresses kept
    (the oldest forgotten first), so a flood of addresses cannot grow it without bound."""

    def __init__(self, *, limit: int, window: timedelta, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self.failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self.failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, key: str, now: datetime) -> int | None:
        """Seconds until this key may try again, or None when it is under the limit."""
        times = self._recent(key, now)
        if len(times) < self.limit:
            return None
        return max(1, int((times[-self.limit] + self.window - now).total_seconds()) + 1)

    def failed(self, key: str, now: datetime) -> None:
        times = self._recent(key, now)
        times.append(now)
        self.failures.pop(key, None)
        self.failures[key] = times  # most recent last
        while len(self.failures) > self.max_keys:
            self.failures.pop(next(iter(self.failures)))
