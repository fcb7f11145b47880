"""Voicemails left in the IVR (R8) and the call-back tasks they (and others) create."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        func, text)
from sqlalchemy.orm import Mapped, mapped_column

from app.callbacks.rules import AttemptOutcome, TaskStatus
from app.complaints import models as _complaints  # noqa: F401 - callback_tasks.complaint_id
from app.db import Base
from routing import models as _routing  # noqa: F401 - callback_attempts.agent_id


class CallbackSource(StrEnum):
    voicemail = "voicemail"
    no_agent = "no_agent"      # the caller reached a queue nobody could serve
    abandoned = "abandoned"    # the caller hung up waiting in a queue
    complaint = "complaint"    # R15: a resolved complaint, the customer to be called back


CallbackStatus = TaskStatus  # open, in_progress, done, unreachable, cancelled


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
    __table_args__ = (
        Index("ix_callback_tasks_status_created_at", "status", "created_at"),
        # One live task per complaint (R15: the call-back after its resolution).
        Index("uq_callback_tasks_live_complaint", "complaint_id", unique=True,
              postgresql_where=text("status IN ('open', 'in_progress')")),
    )

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
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"))
    # When the customer should have been called back (a complaint's R15 deadline, else a setting).
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                        onupdate=func.now())


class CallbackAttempt(Base):
    """One call-back call (R17): the agent rung first, then the customer dialled."""

    __tablename__ = "callback_attempts"
    __table_args__ = (Index("ix_callback_attempts_task_id_started_at", "task_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("callback_tasks.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The outbound call in the call log (direction outbound, with its timeline).
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"),
                                                      index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent_answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    customer_answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))   # AttemptOutcome
    # Why a failed attempt failed (agent_no_answer, agent_busy, agent_hung_up, dial_error, ...);
    # an attempt the agent could not start does not count against the customer.
    reason: Mapped[str | None] = mapped_column(String(32))


__all__ = ["AttemptOutcome", "CallbackAttempt", "CallbackSource", "CallbackStatus",
           "CallbackTask", "TaskStatus", "Voicemail"]
