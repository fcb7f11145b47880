"""One row per access to or change of a protected record (customer views, complaint intake...)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "at"),
                      Index("ix_audit_log_user_id_at", "user_id", "at"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who: a user (None for the admin token or the system itself); their role then.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(64))   # user name, "admin-token" or "system"
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))  # view, create, update
    entity: Mapped[str] = mapped_column(String(32))  # customer, complaint, call
    entity_id: Mapped[str] = mapped_column(String(64))
    # Why: "call" (on the agent's current call, the screen pop), "search", "edit", ...
    reason: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
