"""Live calls as the HTTP routes see them: one small façade over whatever runs the calls.

Routes never reach into the call runtime's objects; they ask `LiveCalls` (the dependency
`app.deps.LiveCallsDep`) for exactly what they need:

- `channel_of(call_id)`: the call's channel while it is live on this service, else None;
- `transfer(call_id, action, ...)`: R12, a Transfer item handed to the call's own queue (in
  order with its events) and awaited; 404 `no-live-call` when the call is not live here;
- `waiting()`: callers in a queue now (the wallboard, R19);
- `callback_attempt(task_id)` / `begin_callback(...)`: R17's live call-back attempt of a task,
  and starting one (503 `asterisk-unavailable` when call handling is not running).

`StasisLiveCalls` is today's implementation, delegating to `app.calls.stasis.CallStasis` (its
flow, dispatcher and outbound call-backs); it copes with no running service (an app built
without its lifespan, as in tests): nothing is live, transfers are 404, call-backs 503. The
delegation lives here and nowhere else.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from app.calls.items import Transfer
from app.errors import AppError, NotFound

TRANSFER_TIMEOUT_SECONDS = 10.0


class NoLiveCall(NotFound):
    error_id = "no-live-call"
    message = "that call is not live on this service"


class CallbacksUnavailable(AppError):
    status_code = 503
    error_id = "asterisk-unavailable"
    message = "call-backs need the telephony service, which is not running"


@dataclass(frozen=True)
class Waiting:
    """A caller in a queue now (with an agent's phone ringing or not)."""

    queue: str | None
    enqueued_at: datetime


class CallbackAttempt(Protocol):
    """A call-back attempt going on now (R17)."""

    task_id: uuid.UUID
    agent_id: uuid.UUID
    attempt_id: uuid.UUID
    call_id: uuid.UUID


class LiveCalls(Protocol):
    """What routes may ask of the calls going on now."""

    def channel_of(self, call_id: uuid.UUID) -> str | None: ...

    async def transfer(self, call_id: uuid.UUID, action: str, *, queue: str | None = None,
                       agent_id: uuid.UUID | None = None, escalate: bool = False) -> None: ...

    def waiting(self) -> list[Waiting]: ...

    def callback_attempt(self, task_id: uuid.UUID) -> CallbackAttempt | None: ...

    async def begin_callback(self, *, task_id: uuid.UUID, agent_id: uuid.UUID,
                             user_id: uuid.UUID | None) -> CallbackAttempt: ...


class StasisLiveCalls:
    """`LiveCalls` over today's `CallStasis` (or None: the service does not run calls)."""

    def __init__(self, stasis: Any | None) -> None:
        self._stasis = stasis

    @property
    def _outbound(self) -> Any | None:
        return getattr(getattr(self._stasis, "flow", None), "outbound", None)

    def channel_of(self, call_id: uuid.UUID) -> str | None:
        return self._stasis.flow.channel_of(call_id) if self._stasis is not None else None

    async def transfer(self, call_id: uuid.UUID, action: str, *, queue: str | None = None,
                       agent_id: uuid.UUID | None = None, escalate: bool = False) -> None:
        """Hand the request to the call's own queue (in order with its events) and await it."""
        channel = self.channel_of(call_id)
        if channel is None:
            raise NoLiveCall()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stasis.dispatcher.submit(channel, Transfer(channel, queue, agent_id, done, action,
                                                         escalate=escalate))
        await asyncio.wait_for(done, timeout=TRANSFER_TIMEOUT_SECONDS)

    def waiting(self) -> list[Waiting]:
        calls = self._stasis.flow.calls.values() if self._stasis is not None else ()
        return [Waiting(c.queue, c.enqueued_at) for c in calls
                if str(c.state) == "in_queue" and c.enqueued_at is not None]

    def callback_attempt(self, task_id: uuid.UUID) -> CallbackAttempt | None:
        outbound = self._outbound
        return outbound.live_attempt(task_id) if outbound is not None else None

    async def begin_callback(self, *, task_id: uuid.UUID, agent_id: uuid.UUID,
                             user_id: uuid.UUID | None) -> CallbackAttempt:
        outbound = self._outbound
        if outbound is None:
            raise CallbacksUnavailable()
        return await outbound.begin(task_id=task_id, agent_id=agent_id, user_id=user_id)
