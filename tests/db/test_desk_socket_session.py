"""The desk WebSocket and the session it was opened with (R20): once that session has ended
(sign-out, deactivation, new password), the socket must carry no more of the agent's calls.

The socket checks its session again before every message and every ping (app/desk/api.py)."""

from __future__ import annotations

import asyncio
import uuid


from tests.db.test_roles import prepare
from tests.support.desk import client, fast_passwords, open_desk_socket

__all__ = ["fast_passwords"]


async def test_a_signed_out_session_gets_nothing_more_on_its_socket(sessionmaker, fast_passwords):
    app, world = await prepare(sessionmaker, ["agent"])
    token = world.tokens["agent"]
    inbox, outbox, task = await open_desk_socket(app, token)
    try:
        async with client(app, token) as c:
            assert (await c.post("/api/auth/logout")).status_code == 204
        app.state.desk.call_ended(world.agent_a.id, call_id=uuid.uuid4(), hangup_by="caller")
        sent = await asyncio.wait_for(outbox.get(), 5)
        assert sent["type"] == "websocket.close", sent  # not the agent's call event
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
