"""The one notifier for agent screens (STYLE 11): the call flow and the ACD say what happened,
and each of the agent's open desktop connections gets it. In memory and per process: a desk
connects to the service instance that runs the calls.

Delivery never blocks a call: each connection has a bounded queue, and a connection that falls
that far behind is dropped (its page reconnects and reloads the state from `GET /api/desk`)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import structlog

from app.desk.messages import (AgentStateMessage, CallbackProgress, CallEnded, Connected,
                               DeskMessage, Notice, OfferEnded, ScreenPop)

log = structlog.get_logger(__name__)
BACKLOG = 64


class Overrun(Exception):
    """This connection fell behind; it is closed and the page reconnects."""


class DeskConnection:
    def __init__(self, agent_id: uuid.UUID | None, user_id: uuid.UUID | None = None,
                 role: str | None = None) -> None:
        self.agent_id = agent_id
        self.user_id, self.role = user_id, role
        self.overrun = False
        self.queue: asyncio.Queue[DeskMessage | Overrun] = asyncio.Queue(BACKLOG + 1)

    def put(self, message: DeskMessage) -> bool:
        if self.overrun:
            return False
        if self.queue.qsize() >= BACKLOG:
            self.overrun = True
            self.queue.put_nowait(Overrun())
            return False
        self.queue.put_nowait(message)
        return True

    async def next(self) -> DeskMessage:
        item = await self.queue.get()
        if isinstance(item, Overrun):
            raise item
        return item


class DeskNotifier:
    def __init__(self) -> None:
        self._connections: dict[uuid.UUID, set[DeskConnection]] = defaultdict(set)
        # Every screen by its user, agents' and leads' alike (notices for team leads, R15).
        self._users: dict[uuid.UUID, set[DeskConnection]] = defaultdict(set)

    @contextmanager
    def connect(self, agent_id: uuid.UUID | None, *, user_id: uuid.UUID | None = None,
                role: str | None = None) -> Iterator[DeskConnection]:
        """A screen: an agent's (by agent_id), and by its user (a team lead has no agent)."""
        conn = DeskConnection(agent_id, user_id, role)
        channels = [(self._connections, agent_id), (self._users, user_id)]
        for channel, key in channels:
            if key is not None:
                channel[key].add(conn)
        try:
            yield conn
        finally:
            for channel, key in channels:
                if key is not None:
                    channel[key].discard(conn)
                    if not channel[key]:
                        del channel[key]

    def watching(self, agent_id: uuid.UUID) -> bool:
        return bool(self._connections.get(agent_id))

    def _send(self, agent_id: uuid.UUID, message: DeskMessage) -> int:
        delivered = sum(conn.put(message) for conn in list(self._connections.get(agent_id, ())))
        log.debug("desk.sent", agent=str(agent_id), type=message.type, connections=delivered)
        return delivered

    # -- what happened ------------------------------------------------------------------------
    def offer_ringing(self, agent_id: uuid.UUID, pop: ScreenPop) -> int:
        return self._send(agent_id, pop)

    def offer_ended(self, agent_id: uuid.UUID, *, offer_id: uuid.UUID, call_id: uuid.UUID,
                    outcome: str) -> None:
        self._send(agent_id, OfferEnded(offer_id=offer_id, call_id=call_id, outcome=outcome))

    def connected(self, agent_id: uuid.UUID, *, offer_id: uuid.UUID, call_id: uuid.UUID,
                  apology_due: bool) -> None:
        self._send(agent_id, Connected(offer_id=offer_id, call_id=call_id, apology_due=apology_due))

    def call_ended(self, agent_id: uuid.UUID, *, call_id: uuid.UUID, hangup_by: str | None) -> None:
        self._send(agent_id, CallEnded(call_id=call_id, hangup_by=hangup_by))

    def agent_state(self, agent_id: uuid.UUID, *, state: str, reason: str | None,
                    since: datetime, wrap_up_until: datetime | None,
                    call_id: uuid.UUID | None) -> None:
        self._send(agent_id, AgentStateMessage(agent_id=agent_id, state=state, reason=reason,
                                               since=since, wrap_up_until=wrap_up_until,
                                               call_id=call_id))

    def callback(self, agent_id: uuid.UUID, *, attempt_id: uuid.UUID, task_id: uuid.UUID,
                 call_id: uuid.UUID, stage: str, outcome: str | None,
                 customer_name: str | None, customer_number: str | None) -> None:
        self._send(agent_id, CallbackProgress(
            attempt_id=attempt_id, task_id=task_id, call_id=call_id, stage=stage, outcome=outcome,
            customer_name=customer_name, customer_number=customer_number))

    def notice(self, notice: Notice, *, agent_ids: Iterable[uuid.UUID] = (),
               user_ids: Iterable[uuid.UUID] = (), roles: Iterable[str] = ()) -> int:
        """A notice to these agents' and users' screens and to every screen of a user in one of
        these roles (each screen once); how many screens got it."""
        roles = set(roles)
        targets = {conn for agent_id in agent_ids for conn in self._connections.get(agent_id, ())}
        targets |= {conn for user_id in user_ids for conn in self._users.get(user_id, ())}
        targets |= {conn for conns in self._users.values() for conn in conns if conn.role in roles}
        delivered = sum(conn.put(notice) for conn in targets)
        log.info("desk.notice", kind=notice.kind, screens=delivered)
        return delivered
