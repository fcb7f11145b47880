"""Quality inspection (R16): the recordings sampled each month for inspectors to score, and the
sampling runs.

A sample is one recording, for the local month it was recorded in, assigned to one inspector (a
user with the role `qa`; None while there is none). A recording is sampled at most once, ever
(`recording_id` is unique), which also keeps two sampling runs at the same time from doubling a
sample. The score sits on the sample: five criteria 1-5 and a comment, all set together (a check
constraint), written by the assigned inspector and revised by them (`revision` counts the
changes; each one is in `audit_log` with the scores before and after).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, SmallInteger,
                        String, Text, func)
from sqlalchemy.orm import Mapped, mapped_column

from app.auth import models as _auth  # noqa: F401 - qa_samples.inspector_user_id
from app.db import Base
from app.recordings import models as _recordings  # noqa: F401 - qa_samples.recording_id
from routing import models as _routing  # noqa: F401 - qa_samples.agent_id

# The scoring form's criteria, in the form's order (R16; 003: 质检 — 问候语和服务用语, 服务态度,
# 语气语调, 归纳客户需求, 处理突发情况).
CRITERIA = ("greeting", "attitude", "tone", "summary", "unexpected")

_ALL_OR_NONE = " AND ".join(f"{c} IS NULL" for c in CRITERIA)
_ALL_IN_RANGE = " AND ".join(f"{c} BETWEEN 1 AND 5" for c in CRITERIA)


class QaSample(Base):
    __tablename__ = "qa_samples"
    __table_args__ = (
        CheckConstraint(f"({_ALL_OR_NONE} AND scored_at IS NULL) OR "
                        f"({_ALL_IN_RANGE} AND scored_at IS NOT NULL)", name="score"),
        Index("ix_qa_samples_month_agent_id", "month", "agent_id"),
        Index("ix_qa_samples_inspector_user_id_month", "inspector_user_id", "month"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # Never sampled twice (R16): also what makes concurrent sampling runs safe.
    recording_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), unique=True)
    month: Mapped[date] = mapped_column(Date)   # the first day of the local month it was recorded
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    inspector_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    sampled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The inspector reviews by then; the recording is kept at least until then (see service).
    review_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    greeting: Mapped[int | None] = mapped_column(SmallInteger)    # greeting and service phrases
    attitude: Mapped[int | None] = mapped_column(SmallInteger)
    tone: Mapped[int | None] = mapped_column(SmallInteger)
    summary: Mapped[int | None] = mapped_column(SmallInteger)     # summarising the caller's need
    unexpected: Mapped[int | None] = mapped_column(SmallInteger)  # handling the unexpected
    comment: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    scored_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QaRun(Base):
    """One sampling run for a month: by whom (a user, or `system` for the monthly job), with
    how many per agent, and what it added. The monthly job runs once a month has ended and no
    run for it was made after its end."""

    __tablename__ = "qa_runs"
    __table_args__ = (Index("ix_qa_runs_month", "month", "ran_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    month: Mapped[date] = mapped_column(Date)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    per_agent: Mapped[int] = mapped_column(SmallInteger)
    seed: Mapped[str] = mapped_column(String(64))
    added: Mapped[int] = mapped_column(Integer)
    assigned: Mapped[int] = mapped_column(Integer)


__all__ = ["CRITERIA", "QaRun", "QaSample"]
