"""Recordings in Postgres (R16): written when a recording starts, completed when its file is in
our storage, marked failed or expired; the parts agents paused; the list the API shows (R20)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls import service as calls
from app.recordings.models import Recording, RecordingPause, RecordingStatus
from routing.models import AgentRow, QueueRow


async def create(*, session: AsyncSession, name: str, call_id: uuid.UUID,
                 agent_id: uuid.UUID | None, queue: str | None,
                 started_at: datetime) -> Recording:
    """The row of a recording that is starting (`recording`): a restart can still fetch it."""
    row = Recording(id=uuid.uuid4(), name=name, call_id=call_id, agent_id=agent_id, queue=queue,
                    status=RecordingStatus.recording, started_at=started_at, format="wav")
    session.add(row)
    await session.flush()
    return row


async def get(*, session: AsyncSession, recording_id: uuid.UUID) -> Recording | None:
    return await session.get(Recording, recording_id)


async def by_name(*, session: AsyncSession, name: str) -> Recording | None:
    return await session.scalar(select(Recording).where(Recording.name == name)
                                .execution_options(populate_existing=True))


async def open_of_call(*, session: AsyncSession, call_id: uuid.UUID) -> list[Recording]:
    """A call's recordings Asterisk may still be writing, oldest first."""
    return list(await session.scalars(
        select(Recording).where(Recording.call_id == call_id,
                                Recording.status == RecordingStatus.recording)
        .order_by(Recording.started_at)))


async def open_of_ended_calls(*, session: AsyncSession) -> list[Recording]:
    """Recordings still marked `recording` whose call has ended (the service stopped before
    it fetched them)."""
    return list(await session.scalars(
        select(Recording).where(Recording.status == RecordingStatus.recording,
                                Recording.call_id.in_(calls.ended_ids()))))


async def open_pause(*, session: AsyncSession, recording_id: uuid.UUID) -> RecordingPause | None:
    return await session.scalar(
        select(RecordingPause).where(RecordingPause.recording_id == recording_id,
                                     RecordingPause.ended_at.is_(None))
        .order_by(RecordingPause.started_at.desc()).limit(1))


async def start_pause(*, session: AsyncSession, recording_id: uuid.UUID, at: datetime,
                      by_user_id: uuid.UUID | None) -> RecordingPause:
    """Mark the start of a paused part (one open pause at a time)."""
    existing = await open_pause(session=session, recording_id=recording_id)
    if existing is not None:
        return existing
    pause = RecordingPause(id=uuid.uuid4(), recording_id=recording_id, started_at=at,
                           by_user_id=by_user_id)
    session.add(pause)
    await session.flush()
    return pause


async def end_pauses(*, session: AsyncSession, recording_id: uuid.UUID, at: datetime) -> int:
    """Close the open pause (resumed, or the recording ended while paused)."""
    result = await session.execute(
        update(RecordingPause).where(RecordingPause.recording_id == recording_id,
                                     RecordingPause.ended_at.is_(None))
        .values(ended_at=func.greatest(RecordingPause.started_at, at)))
    return result.rowcount or 0


async def pauses_of(*, session: AsyncSession, recording_id: uuid.UUID) -> list[RecordingPause]:
    return list(await session.scalars(
        select(RecordingPause).where(RecordingPause.recording_id == recording_id)
        .order_by(RecordingPause.started_at)))


async def retention_days(*, session: AsyncSession, queue: str | None, default: int) -> int:
    """R16: the queue's retention period, else the service's."""
    days = None
    if queue is not None:
        days = await session.scalar(select(QueueRow.recording_retention_days)
                                    .where(QueueRow.name == queue))
    return days or default


async def mark_stored(*, session: AsyncSession, recording: Recording, ended_at: datetime,
                      duration_seconds: float | None, size_bytes: int, sha256: str, path: str,
                      retain_until: datetime | None) -> Recording:
    recording.status, recording.ended_at = RecordingStatus.stored, ended_at
    recording.duration_seconds, recording.size_bytes = duration_seconds, size_bytes
    recording.sha256, recording.path, recording.retain_until = sha256, path, retain_until
    recording.error = None
    await end_pauses(session=session, recording_id=recording.id, at=ended_at)
    await session.flush()
    return recording


async def mark_failed(*, session: AsyncSession, recording: Recording, ended_at: datetime,
                      error: str) -> Recording:
    """Asterisk never gave us the file (or we could not keep it): `failed`, with why. Whatever
    Asterisk still holds is left there."""
    recording.status, recording.error = RecordingStatus.failed, error[:500]
    recording.ended_at = recording.ended_at or ended_at
    await end_pauses(session=session, recording_id=recording.id, at=recording.ended_at)
    await session.flush()
    return recording


async def due_for_deletion(*, session: AsyncSession, now: datetime,
                           limit: int | None = 500) -> list[Recording]:
    """Stored recordings whose retention has passed (oldest first; `limit` None: all)."""
    return list(await session.scalars(
        select(Recording).where(Recording.status == RecordingStatus.stored,
                                Recording.retain_until.is_not(None),
                                Recording.retain_until <= now)
        .order_by(Recording.retain_until).limit(limit).with_for_update(skip_locked=True)))


def mark_expired(recording: Recording, *, at: datetime) -> None:
    """The file is gone: the row stays, saying when (R16)."""
    recording.status, recording.deleted_at, recording.path = RecordingStatus.expired, at, None


@dataclass(frozen=True)
class Filters:
    call_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    queue: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None


@dataclass(frozen=True)
class Scope:
    """Whose recordings a reader sees (R20): all (None fields), a team's agents, or one agent."""

    team: str | None = None
    agent_id: uuid.UUID | None = None
    nothing: bool = False


def _where(filters: Filters, scope: Scope) -> list:
    clauses: list = []
    if scope.nothing:
        clauses.append(Recording.id.is_(None))
    if scope.team is not None:
        clauses.append(Recording.agent_id.in_(select(AgentRow.id).where(AgentRow.team == scope.team)))
    if scope.agent_id is not None:
        clauses.append(Recording.agent_id == scope.agent_id)
    for column, value in ((Recording.call_id, filters.call_id),
                          (Recording.agent_id, filters.agent_id),
                          (Recording.queue, filters.queue), (Recording.status, filters.status)):
        if value is not None:
            clauses.append(column == value)
    if filters.since is not None:
        clauses.append(Recording.started_at >= filters.since)
    if filters.until is not None:
        clauses.append(Recording.started_at < filters.until)
    return clauses


async def list_recordings(*, session: AsyncSession, filters: Filters, scope: Scope, limit: int,
                          after: tuple[datetime, uuid.UUID] | None = None,
                          ) -> list[tuple[Recording, str | None]]:
    """Newest first, with the agent's name; `after` is the last (started_at, id) of the page
    before (keyset paging)."""
    query = (select(Recording, AgentRow.name).outerjoin(AgentRow, AgentRow.id == Recording.agent_id)
             .where(and_(True, *_where(filters, scope)))
             .order_by(Recording.started_at.desc(), Recording.id.desc()).limit(limit))
    if after is not None:
        at, ident = after
        query = query.where((Recording.started_at < at)
                            | and_(Recording.started_at == at, Recording.id < ident))
    return [(row, name) for row, name in (await session.execute(query)).all()]


async def agent_team(*, session: AsyncSession, agent_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    """The agent's (name, team)."""
    if agent_id is None:
        return None, None
    row = (await session.execute(select(AgentRow.name, AgentRow.team)
                                 .where(AgentRow.id == agent_id))).first()
    return (row[0], row[1]) if row else (None, None)


def retain_until(ended_at: datetime, days: int) -> datetime:
    return ended_at + timedelta(days=days)
