"""IVR tables: menu versions (every accepted menu file) and each call's path through the menu."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class IvrVersion(Base):
    __tablename__ = "ivr_versions"
    __table_args__ = (
        Index("uq_ivr_versions_active", "is_active", unique=True,
              postgresql_where=text("is_active")),
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)          # the YAML as accepted
    sha256: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(200))   # file path, or "api"
    created_by: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IvrStepRow(Base):
    """One step of a caller's path: at `node`, on `input` (a key, timeout...), went to `outcome`."""

    __tablename__ = "ivr_steps"
    __table_args__ = (UniqueConstraint("call_id", "seq", name="uq_ivr_steps_call_id_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    node: Mapped[str] = mapped_column(String(64))
    input: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(100))
