"""Active or standby (R21, #15): what the service does with the lease (app/lease.py).

At start the instance tries the lease once: the only instance takes it at once and starts the call
machinery (the ACD, the ARI event stream, whose connect reconciles live calls, and the jobs) before
it serves, as it always did. Otherwise it serves HTTP as a standby (`/health` 200, `/ready` 503
with `"role": "standby"`, `/api` 503 `standby`: its ACD is not running and must not answer for the
agents) and starts the machinery the moment it takes the lease. An instance that loses the lease
steps down: its fence is closed already; the process exits with `EXIT_LEASE_LOST` (75) without
draining anything (as after `kill -9`: the new active instance reconciles from Postgres and
Asterisk), and its supervisor starts it again as a standby. Embedded in tests (`exit_on_loss`
false) it stops the event stream and the jobs and stays a stepped-down instance.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

import structlog
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.lease import EXIT_LEASE_LOST, Lease, Role

log = structlog.get_logger(__name__)

Hook = Callable[[], Awaitable[None]]


class ServiceRole:
    def __init__(self, lease: Lease, *, activate: Hook, deactivate: Hook,
                 exit_on_loss: bool) -> None:
        self.lease = lease
        self._activate, self._deactivate = activate, deactivate
        self.exit_on_loss = exit_on_loss
        self.activated = False
        self._starting = False
        self._task: asyncio.Task | None = None
        lease.on_acquired, lease.on_lost = self._acquired, self._lost

    @property
    def active(self) -> bool:
        return self.lease.role is Role.active and self.activated

    async def start(self) -> None:
        """Try the lease; if it is ours, start the call machinery before returning."""
        self._starting = True
        try:
            await self.lease.start()
        finally:
            self._starting = False
        if self._task is not None:
            await self._task  # a failure to start, at start, fails the start as it always did
        else:
            log.warning("service.standby", lease=self.lease.name, reason=self.lease.reason)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.lease.close()

    def replaced(self) -> None:
        """Asterisk gave our ARI app to another client (ApplicationReplaced): step down."""
        self.lease.give_up("ApplicationReplaced: another ARI client took our app")

    def describe(self) -> dict[str, str]:
        """For /ready: the role, and the lease's state in words."""
        role = self.lease.role
        name = ("active" if self.active else "starting" if role is Role.active
                else "stepped-down" if role is Role.lost else "standby")
        return {"role": name, "lease": self.lease.reason}

    def _acquired(self) -> None:
        self._task = asyncio.create_task(self._start_machinery(), name="become-active")

    async def _start_machinery(self) -> None:
        at_start = self._starting
        log.warning("service.active", lease=self.lease.name)
        try:
            await self._activate()
        except Exception:
            if at_start:
                raise
            log.exception("service.activation_failed")
            self.lease.give_up("the call machinery failed to start")
            return
        self.activated = True

    def _lost(self, reason: str) -> None:
        if self.exit_on_loss:
            log.error("service.lease_lost", reason=reason,
                      action=f"exiting with {EXIT_LEASE_LOST}; the supervisor starts a standby")
            for handler in logging.getLogger().handlers:
                handler.flush()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_LEASE_LOST)
        log.error("service.lease_lost", reason=reason, action="stopping the event stream")
        asyncio.get_running_loop().create_task(self._stand_down(), name="step-down")

    async def _stand_down(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.activated:
            self.activated = False
            await self._deactivate()


class StandbyGuard:
    """`/api` on an instance that is not active answers 503 `standby` (WebSockets close with
    1013, try again later): only the active instance's ACD and calls are live."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith("/api/"):
            role: ServiceRole | None = getattr(scope["app"].state, "role", None)
            if role is not None and not role.active:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1013,
                                "reason": "standby instance"})
                    return
                body = {"error_id": "standby", "message": "this instance is a standby (or stepped "
                        "down); the active instance serves", "details": role.describe()}
                await JSONResponse(body, status_code=503)(scope, receive, send)
                return
        await self.app(scope, receive, send)
