"""The complaints table: a number a caller can key in (digits), the customer's phone, status."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, func
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


OPEN_STATUSES = (ComplaintStatus.received, ComplaintStatus.dispatched, ComplaintStatus.in_progress,
                 ComplaintStatus.resolved, ComplaintStatus.reopened)


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
