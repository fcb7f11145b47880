"""ACD tables: agents and every change of their state (R19), queues, and offers (R1)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Identity,
                        Index, Integer, String, func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class AgentRow(Base):
    __tablename__ = "agents"
    __table_args__ = (CheckConstraint(
        "(phone_kind = 'contact' AND contact IS NOT NULL) OR "
        "(phone_kind = 'registration' AND sip_username IS NOT NULL AND sip_md5_cred IS NOT NULL)",
        name="phone"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(16))                   # R10
    skills: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)  # skill -> 1..5
    languages: Mapped[list[str]] = mapped_column(JSONB, default=list)
    team: Mapped[str | None] = mapped_column(String(100))
    # How the phone is reached (R9): `contact`, a SIP URI dialled through the trunk (desk phones,
    # SIPp phones), or `registration`, a PJSIP endpoint we provision in Asterisk that the phone
    # registers to with `sip_username` and a password of which we keep only the digest.
    phone_kind: Mapped[str] = mapped_column(String(16), default="contact", server_default="contact")
    contact: Mapped[str | None] = mapped_column(String(300))
    sip_username: Mapped[str | None] = mapped_column(String(40), unique=True)
    sip_md5_cred: Mapped[str | None] = mapped_column(String(32))  # md5(username:realm:password)
    # What Asterisk holds: the endpoint id we last wrote (to remove it later), and when the
    # current credentials were written (None: not yet, the next sync retries).
    sip_endpoint: Mapped[str | None] = mapped_column(String(40))
    sip_provisioned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16), default="logged_out")
    state_reason: Mapped[str | None] = mapped_column(String(64))
    state_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ready_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    misses_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AgentStateChange(Base):
    """Every agent state change with its time: busy/idle and occupancy reports (R19)."""

    __tablename__ = "agent_state_changes"
    __table_args__ = (Index("ix_agent_state_changes_agent_id_at", "agent_id", "at"),
                      Index("ix_agent_state_changes_at", "at"),  # reports over a time range
                      # a call's wrap-up time (AHT, #18): the wrap_up change names the call
                      Index("ix_agent_state_changes_wrap_up_call_id", "call_id",
                            postgresql_where="to_state = 'wrap_up'"))

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(64))
    call_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))


class QueueRow(Base):
    __tablename__ = "queues"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # what the IVR's queue nodes name
    call_type: Mapped[str] = mapped_column(String(32))           # R6
    skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    strategy: Mapped[str] = mapped_column(String(32), default="longest_idle")
    max_wait_seconds: Mapped[int] = mapped_column(Integer, default=300)
    overflow: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    announce_every_seconds: Mapped[int | None] = mapped_column(Integer)
    moh_class: Mapped[str] = mapped_column(String(64), default="default")
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=15)   # R13
    # R19, #18: the service level's answer threshold for this queue (None: the setting's)
    service_level_seconds: Mapped[float | None] = mapped_column(Float)
    # R17: callers whose agent hangs up first are asked to rate the call (opt-in per queue).
    survey: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # R16: agent conversations in this queue are recorded (the caller is told first), and kept
    # this many days (None: HOTLINE_RECORDING_RETENTION_DAYS).
    record_calls: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    recording_retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OfferRow(Base):
    """One offer of a call to an agent's phone, measured against the three-ring rule (R1)."""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_call_id", "call_id"), Index("ix_offers_agent_id_offered_at",
                                                                   "agent_id", "offered_at"))

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    call_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(128))  # the agent's leg
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ringing_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(16))
    ring_seconds: Mapped[float | None] = mapped_column(Float)
    rings: Mapped[int | None] = mapped_column(Integer)
    # The screen pop (R3, R14): sent to the agent's desktop, and shown there (the page says so).
    pop_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pop_shown_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
