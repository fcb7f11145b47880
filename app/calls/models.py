"""The call log: one row per call, and its timeline (our own queue_log: every transition)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer,
                        SmallInteger, String, Text, UniqueConstraint, func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth import models as _users  # noqa: F401 - calls.disposition_by -> users
from app.customers import models as _customers  # noqa: F401 - calls.customer_id
from app.db import Base


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_started_at_id", "started_at", "id"),
        Index("ix_calls_open", "ended_at", postgresql_where="ended_at IS NULL"),
        Index("ix_calls_customer_id_started_at", "customer_id", "started_at"),  # history (R14)
        Index("ix_calls_updated_at", "updated_at"),  # which hours the report rollup redoes
        Index("ix_calls_abandoned_started_at", "started_at",  # the abandoned calls report
              postgresql_where="end_reason IN ('abandoned_in_queue', 'fallback_abandoned')"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    channel_id: Mapped[str] = mapped_column(String(128), unique=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    caller_number: Mapped[str | None] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    dialed_number: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    hangup_by: Mapped[str | None] = mapped_column(String(16))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The menu version the call ran and the IVR node it was at last (where it left the IVR).
    ivr_version_id: Mapped[int | None] = mapped_column(ForeignKey("ivr_versions.id"))
    ivr_node: Mapped[str | None] = mapped_column(String(64))
    # What the IVR decided at its end, e.g. "queue:complaints".
    ivr_outcome: Mapped[str | None] = mapped_column(String(100))
    # The ACD (R9-R11): the queue, the call's priority there, who answered and when (R1).
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    connected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    apology_due: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The customer archive (R14): matched or created from the caller's number on arrival.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"))
    # What the call was about, as the agent recorded it (R6), and their notes.
    disposition: Mapped[str | None] = mapped_column(String(16))
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    disposition_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    disposition_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # R17: the caller's rating (1-5) in the survey after the agent left, and when it was given.
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    satisfaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.seq", cascade="all, delete-orphan",
        lazy="raise",
    )


class CallEvent(Base):
    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_call_events_call_id_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_state: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")
