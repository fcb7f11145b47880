"""Agents, queues and agent state history in Postgres: plain functions, the session passed in.

The caller owns the transaction. Writes that may hit a unique constraint run in a SAVEPOINT, so a
conflict raises a clear 409 and leaves the caller's transaction usable.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from routing.agent_state import AgentState
from routing.models import AgentRow, AgentStateChange, QueueRow
from routing import phones
from routing.schemas import AgentIn, AgentPatch, ContactPhone, QueueIn, QueuePatch, RegistrationPhone


class ExtensionTaken(Conflict):
    error_id = "agent-extension-taken"
    message = "another agent has this extension"


class SipUsernameTaken(Conflict):
    error_id = "sip-username-taken"
    message = "another agent's phone registers with this user name"


class QueueNameTaken(Conflict):
    error_id = "queue-name-taken"
    message = "a queue with this name exists"


async def _in_savepoint(session: AsyncSession, change: Callable[[], Awaitable[None] | None], *,
                        conflicts: dict[str, Conflict]) -> None:
    """Apply `change` and flush inside a SAVEPOINT; a violation of a constraint named in
    `conflicts` raises its error and is rolled back to the savepoint only."""
    try:
        async with session.begin_nested():
            result = change()
            if result is not None:
                await result
            await session.flush()
    except IntegrityError as exc:
        for constraint, error in conflicts.items():
            if constraint in str(exc.orig):
                raise error from exc
        raise


# -- agents ---------------------------------------------------------------------------------

def _agent_conflicts(extension: str | None, username: str | None) -> dict[str, Conflict]:
    return {"uq_agents_extension": ExtensionTaken(extension=extension),
            "uq_agents_sip_username": SipUsernameTaken(username=username)}


def _phone_columns(phone: ContactPhone | RegistrationPhone) -> dict[str, Any]:
    """The row's phone columns for a new phone. A registration keeps only md5_cred and is
    unprovisioned until written to Asterisk; `sip_endpoint` (what Asterisk holds) is left for
    `routing.phones` to change."""
    if isinstance(phone, RegistrationPhone):
        return dict(phone_kind="registration", contact=None, sip_username=phone.username,
                    sip_md5_cred=phones.md5_cred(phone.username, phone.password.get_secret_value()),
                    sip_provisioned_at=None)
    return dict(phone_kind="contact", contact=phone.contact, sip_username=None,
                sip_md5_cred=None, sip_provisioned_at=None)


def _username(phone: ContactPhone | RegistrationPhone | None) -> str | None:
    return phone.username if isinstance(phone, RegistrationPhone) else None


async def create_agent(*, session: AsyncSession, agent_in: AgentIn) -> AgentRow:
    """Store a new agent, logged out (R10: with level and skills); 409 if the extension or the
    phone's SIP user name is taken. A registration phone is provisioned by `routing.phones`."""
    assert agent_in.phone is not None  # AgentIn makes `contact` a phone
    agent = AgentRow(id=uuid.uuid4(), **agent_in.model_dump(mode="json",
                                                            exclude={"contact", "phone"}),
                     **_phone_columns(agent_in.phone),
                     state=AgentState.logged_out, misses_in_a_row=0, is_active=True)
    await _in_savepoint(session, lambda: session.add(agent),
                        conflicts=_agent_conflicts(agent_in.extension, _username(agent_in.phone)))
    await session.refresh(agent)  # server defaults: state_since, created_at
    return agent


async def get_agent(*, session: AsyncSession, agent_id: uuid.UUID) -> AgentRow | None:
    """One agent, active or not, as stored now."""
    return await session.scalar(select(AgentRow).where(AgentRow.id == agent_id)
                                .execution_options(populate_existing=True))


async def list_agents(*, session: AsyncSession, include_inactive: bool = False) -> list[AgentRow]:
    """Agents by name (then extension); only active ones unless asked."""
    query = select(AgentRow).order_by(AgentRow.name, AgentRow.extension)
    if not include_inactive:
        query = query.where(AgentRow.is_active)
    return list(await session.scalars(query.execution_options(populate_existing=True)))


async def update_agent(*, session: AsyncSession, agent: AgentRow, patch: AgentPatch) -> AgentRow:
    """Apply the fields the patch sets (a new phone replaces the old); 409 if the new extension
    or SIP user name is taken. Deactivating is `deactivate_agent`'s."""
    changes: dict[str, Any] = patch.model_dump(mode="json", exclude_unset=True,
                                               exclude={"contact", "phone", "is_active"})
    if patch.phone is not None:
        changes.update(_phone_columns(patch.phone))

    def apply() -> None:
        for field, value in changes.items():
            setattr(agent, field, value)

    await _in_savepoint(session, apply,
                        conflicts=_agent_conflicts(changes.get("extension"), _username(patch.phone)))
    return agent


async def deactivate_agent(*, session: AsyncSession, agent: AgentRow) -> AgentRow:
    """Take an agent out of routing and lists; the row and its history stay for reports (R19).
    A registration phone's objects are then removed from Asterisk by `routing.phones`."""
    agent.is_active = False
    await session.flush()
    return agent


async def reactivate_agent(*, session: AsyncSession, agent: AgentRow) -> AgentRow:
    """Bring a deactivated agent back (logged out)."""
    agent.is_active = True
    await session.flush()
    return agent


# -- agent states (R19) ---------------------------------------------------------------------

def state_row_values(*, at: datetime, to_state: str, reason: str | None,
                     misses_in_a_row: int | None) -> dict[str, Any]:
    """The agent row's new values after a change to `to_state` (see `record_state_change`)."""
    values: dict[str, Any] = dict(state=to_state, state_reason=reason, state_since=at)
    if misses_in_a_row is not None:
        values["misses_in_a_row"] = misses_in_a_row
    if to_state == AgentState.ready:
        values["ready_since"] = at
    elif to_state == AgentState.logged_out:
        values["ready_since"] = None
    return values


async def record_state_change(*, session: AsyncSession, agent_id: uuid.UUID, at: datetime,
                              from_state: str, to_state: str, event: str, reason: str | None,
                              call_id: uuid.UUID | None,
                              misses_in_a_row: int | None = None) -> AgentStateChange:
    """Store one `from -> event -> to` with its time and move the agent row to the new state.

    `ready_since` becomes `at` on entering ready (idle time for longest-idle routing), is cleared
    on logging out, and is kept otherwise; `misses_in_a_row` (R1) is stored when given.
    """
    values = state_row_values(at=at, to_state=to_state, reason=reason,
                              misses_in_a_row=misses_in_a_row)
    change = AgentStateChange(agent_id=agent_id, at=at, from_state=from_state, to_state=to_state,
                              event=str(event), reason=reason, call_id=call_id)
    session.add(change)
    await session.flush()
    await session.execute(update(AgentRow).where(AgentRow.id == agent_id).values(**values))
    return change


async def state_history(*, session: AsyncSession, agent_id: uuid.UUID, since: datetime | None,
                        until: datetime | None, limit: int = 10_000) -> list[AgentStateChange]:
    """An agent's state changes at or after `since` and before `until`, oldest first."""
    query = (select(AgentStateChange).where(AgentStateChange.agent_id == agent_id)
             .order_by(AgentStateChange.at, AgentStateChange.id).limit(limit))
    if since is not None:
        query = query.where(AgentStateChange.at >= since)
    if until is not None:
        query = query.where(AgentStateChange.at < until)
    return list(await session.scalars(query))


# -- queues (R9) ----------------------------------------------------------------------------

def _queue_values(data: dict[str, Any]) -> dict[str, Any]:
    overflow = data.get("overflow")
    if overflow is not None:  # store only what was given: {"kind": "voicemail"}
        data["overflow"] = {k: v for k, v in overflow.items() if v is not None}
    return data


async def create_queue(*, session: AsyncSession, queue_in: QueueIn) -> QueueRow:
    """Store a new queue; 409 if the name is taken."""
    queue = QueueRow(id=uuid.uuid4(), **_queue_values(queue_in.model_dump(mode="json")))
    await _in_savepoint(session, lambda: session.add(queue),
                        conflicts={"uq_queues_name": QueueNameTaken(name=queue_in.name)})
    await session.refresh(queue)  # server default: created_at
    return queue


async def get_queue(*, session: AsyncSession, queue_id: uuid.UUID) -> QueueRow | None:
    return await session.get(QueueRow, queue_id)


async def get_queue_by_name(*, session: AsyncSession, name: str) -> QueueRow | None:
    """The queue IVR queue nodes call `name`."""
    return await session.scalar(select(QueueRow).where(QueueRow.name == name)
                                .execution_options(populate_existing=True))


async def list_queues(*, session: AsyncSession) -> list[QueueRow]:
    """All queues by name."""
    return list(await session.scalars(select(QueueRow).order_by(QueueRow.name)))


async def update_queue(*, session: AsyncSession, queue: QueueRow, patch: QueuePatch) -> QueueRow:
    """Apply the fields the patch sets."""
    for field, value in _queue_values(patch.model_dump(mode="json", exclude_unset=True)).items():
        setattr(queue, field, value)
    await session.flush()
    return queue


async def delete_queue(*, session: AsyncSession, queue: QueueRow) -> None:
    """Remove a queue; past calls keep its name in their records."""
    await session.delete(queue)
    await session.flush()
