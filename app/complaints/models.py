"""The complaints table: a number a caller can key in (digits), the customer's phone, status."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from typing import Any

from sqlalchemy import (BigInteger, DateTime, ForeignKey, Identity, Index, Integer, String, Text,
                        func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.auth import models as _users  # noqa: F401 - complaints.created_by -> users
from app.customers import models as _customers  # noqa: F401 - complaints.customer_id
from app.db import Base


class ComplaintStatus(StrEnum):
    """R15's workflow states."""

    received = "received"
    dispatched = "dispatched"
    in_progress = "in_progress"
    resolved = "resolved"
    called_back = "called_back"
    closed = "closed"
    reopened = "reopened"
    closed_unreachable = "closed_unreachable"


# Major complaints and crises go to the department head at once (R15).
URGENT_SEVERITIES = ("major", "crisis")

OPEN_STATUSES = (ComplaintStatus.received, ComplaintStatus.dispatched, ComplaintStatus.in_progress,
                 ComplaintStatus.resolved, ComplaintStatus.reopened)


class Department(Base):
    """Where complaints are dispatched (R15): its head is told of major ones at once."""

    __tablename__ = "departments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    head_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Optional: major and crisis complaints are also POSTed here as JSON.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_customer_number_status", "customer_number", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # What the caller keys in to look it up (R7): digits only.
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=ComplaintStatus.received)
    severity: Mapped[str] = mapped_column(String(16), default="general")
    summary: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Intake (R14): who complains, where, about whom; taken by an agent during the call.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    customer_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    responsible_person: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # First-contact ownership (R12): the agent who took it stays its owner.
    owner_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # R15 deadlines, fixed at intake: dispatched within 60 minutes, handled within 5 working days.
    dispatch_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handling_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The workflow (R15): where it went, who handles it, when each step happened.
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    called_back_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set on resolution: the call-back target (72 h) and its hard limit (7 days).
    callback_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    callback_deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1..5 (R17)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ComplaintEvent(Base):
    """The complaint's timeline: every change, who made it, from -> to, and a note (R15)."""

    __tablename__ = "complaint_events"
    __table_args__ = (Index("ix_complaint_events_complaint_id_at", "complaint_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64))  # user name, "admin-token" or "system"
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    # received, dispatch, start, resolve, call_back, close, reopen, close_unreachable,
    # callback_attempt, satisfaction, owner, severity, notice
    event: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
