"""What the recordings API returns (R16). The detail's shape is a contract the quality
inspection page builds on: keep its fields."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from app.recordings.models import Recording, RecordingPause


class PauseOut(BaseModel):
    """A paused (muted) part: wall times and offsets in seconds from the recording's start (the
    file's timeline; a pause is silence in it). `ended_at` None: still paused."""

    started_at: datetime
    ended_at: datetime | None
    start_offset_seconds: float
    end_offset_seconds: float | None


class RecordingOut(BaseModel):
    id: uuid.UUID
    call_id: uuid.UUID
    agent_id: uuid.UUID | None
    agent_name: str | None
    queue: str | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    format: str
    size_bytes: int | None
    sha256: str | None
    retain_until: datetime | None
    deleted_at: datetime | None
    error: str | None = None


class RecordingDetail(RecordingOut):
    pauses: list[PauseOut]


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    next_cursor: str | None


class DeskRecording(BaseModel):
    """The signed-in agent's current recording (the desk's pause button)."""

    recording_id: uuid.UUID
    call_id: uuid.UUID
    started_at: datetime
    paused: bool
    paused_since: datetime | None


def offset(recording: Recording, at: datetime | None) -> float | None:
    """Seconds from the recording's start to `at` (never before 0 nor past its end)."""
    if at is None:
        return None
    seconds = max((at - recording.started_at).total_seconds(), 0.0)
    if recording.duration_seconds is not None:
        seconds = min(seconds, recording.duration_seconds)
    return round(seconds, 3)


def recording_out(recording: Recording, agent_name: str | None) -> RecordingOut:
    return RecordingOut(
        id=recording.id, call_id=recording.call_id, agent_id=recording.agent_id,
        agent_name=agent_name, queue=recording.queue, status=recording.status,
        started_at=recording.started_at, ended_at=recording.ended_at,
        duration_seconds=recording.duration_seconds, format=recording.format,
        size_bytes=recording.size_bytes, sha256=recording.sha256,
        retain_until=recording.retain_until, deleted_at=recording.deleted_at,
        error=recording.error)


def recording_detail(recording: Recording, agent_name: str | None,
                     pauses: list[RecordingPause]) -> RecordingDetail:
    return RecordingDetail(
        **recording_out(recording, agent_name).model_dump(),
        pauses=[PauseOut(started_at=p.started_at, ended_at=p.ended_at,
                         start_offset_seconds=offset(recording, p.started_at) or 0.0,
                         end_offset_seconds=offset(recording, p.ended_at)) for p in pauses])
