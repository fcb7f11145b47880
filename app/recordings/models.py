"""Recordings of agent conversations (R16) and the parts an agent paused (card numbers and the like).

A row is written when a bridge recording starts (`status = recording`), so a restart can still
fetch and keep it; it becomes `stored` once the file is in our storage (path, size, checksum,
duration read from the file), `failed` if Asterisk never gave it to us, and `expired` when the
retention job has deleted the file (the row stays, so the call log and QA history still say that
a recording existed and when it went).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.calls import models as _calls  # noqa: F401 - recordings.call_id
from app.db import Base
from routing import models as _routing  # noqa: F401 - recordings.agent_id


class RecordingStatus(StrEnum):
    recording = "recording"   # Asterisk is writing it
    stored = "stored"         # in our storage, metadata complete
    failed = "failed"         # Asterisk never gave us the file (see `error`)
    expired = "expired"       # deleted by the retention job (`deleted_at`)


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        Index("ix_recordings_call_id", "call_id"),
        Index("ix_recordings_agent_id_started_at", "agent_id", "started_at"),  # QA sampling
        Index("ix_recordings_started_at", "started_at"),
        Index("ix_recordings_retain_until", "retain_until",   # the retention job
              postgresql_where="status = 'stored'"),
        Index("ix_recordings_unfinished", "started_at",       # what a reconnect must fetch
              postgresql_where="status = 'recording'"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Asterisk's name for it (ARI /recordings/live|stored/{name}); unique so a retry can't double it.
    name: Mapped[str] = mapped_column(String(128), unique=True)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    queue: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=RecordingStatus.recording)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[float | None] = mapped_column(Float)   # read from the file
    format: Mapped[str] = mapped_column(String(16), default="wav")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The file in our storage, relative to the storage root (None until stored, and once expired).
    path: Mapped[str | None] = mapped_column(String(500))
    # The queue's retention period from the end of the recording (R16; None: kept until changed).
    retain_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordingPause(Base):
    """A part of a recording the agent paused: silence in the file, marked here (R16, R20)."""

    __tablename__ = "recording_pauses"
    __table_args__ = (Index("ix_recording_pauses_recording_id", "recording_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    recording_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: still paused
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


__all__ = ["Recording", "RecordingPause", "RecordingStatus"]
