"""Voicemails left in the IVR (R8) and the call-back tasks they (and others) create."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class CallbackSource(StrEnum):
    voicemail = "voicemail"
    no_agent = "no_agent"      # the caller reached a queue nobody could serve


class CallbackStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class Voicemail(Base):
    __tablename__ = "voicemails"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    caller_number: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    # The file in our storage (fetched from Asterisk through ARI), relative to the storage dir.
    path: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CallbackTask(Base):
    __tablename__ = "callback_tasks"
    __table_args__ = (Index("ix_callback_tasks_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.open)
    customer_number: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    voicemail_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("voicemails.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
