"""Rollups of the report figures (#7: a month's reports in milliseconds on ten million calls).
Each row holds the `definitions.Totals` of one UTC half-hour (#18: staffing's interval; the
column is still called `hour`), queue and call type, or one UTC half-hour and agent;
`rollup.refresh` keeps them current. See app/reports/rollup.py."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.calls.models import Call
from app.db import Base

# The month's satisfaction scores (R17) without reading the month's calls: few calls are scored.
# Declared here, beside the reports that need it, on the calls table (migration 20261124_0013).
Index("ix_calls_scored_started_at", Call.started_at,
      postgresql_where=Call.satisfaction.is_not(None))


class ReportHour(Base):
    __tablename__ = "report_hours"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)       # '' when none
    call_type: Mapped[str] = mapped_column(String(16), primary_key=True)   # 'unknown' when none
    calls: Mapped[int] = mapped_column(BigInteger)
    offered: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(BigInteger)
    abandoned: Mapped[int] = mapped_column(BigInteger)
    short_abandoned: Mapped[int] = mapped_column(BigInteger)
    abandoned_in_ivr: Mapped[int] = mapped_column(BigInteger)
    answered_in_threshold: Mapped[int] = mapped_column(BigInteger)
    wait_sum: Mapped[float] = mapped_column(Float)
    talk_sum: Mapped[float] = mapped_column(Float)
    talked: Mapped[int] = mapped_column(BigInteger)
    offers_answered: Mapped[int] = mapped_column(BigInteger)
    offers_answered_in_limit: Mapped[int] = mapped_column(BigInteger)
    offers_missed: Mapped[int] = mapped_column(BigInteger)
    # #18: three-ring compliance that can fall, AHT with wrap-up, patience (Erlang A)
    offers_decided: Mapped[int] = mapped_column(BigInteger, server_default="0")
    first_offers: Mapped[int] = mapped_column(BigInteger, server_default="0")
    first_offers_in_limit: Mapped[int] = mapped_column(BigInteger, server_default="0")
    answered_in_ring_limit: Mapped[int] = mapped_column(BigInteger, server_default="0")
    wrap_sum: Mapped[float] = mapped_column(Float, server_default="0")
    abandon_wait_sum: Mapped[float] = mapped_column(Float, server_default="0")


class AgentTotalsColumns:
    """What an agent report sums, per hour or per day."""

    offers: Mapped[int] = mapped_column(BigInteger)
    answered: Mapped[int] = mapped_column(BigInteger)
    missed: Mapped[int] = mapped_column(BigInteger)
    decided: Mapped[int] = mapped_column(BigInteger, server_default="0")  # answered, missed, busy, rejected
    answered_in_limit: Mapped[int] = mapped_column(BigInteger)
    talk_seconds: Mapped[float] = mapped_column(Float)
    seconds_ready: Mapped[float] = mapped_column(Float)
    seconds_ringing: Mapped[float] = mapped_column(Float)
    seconds_on_call: Mapped[float] = mapped_column(Float)
    seconds_wrap_up: Mapped[float] = mapped_column(Float)
    seconds_paused: Mapped[float] = mapped_column(Float)


class ReportAgentHour(AgentTotalsColumns, Base):
    __tablename__ = "report_agent_hours"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"),
                                                primary_key=True)


class ReportAgentDay(AgentTotalsColumns, Base):
    """The same per UTC day: a month of an agent report is 30 rows per agent, not 720."""

    __tablename__ = "report_agent_days"

    day: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"),
                                                primary_key=True)


class ReportPresence(Base):
    """Per UTC half-hour: the seconds all agents were logged in (any state but logged_out),
    so the staffing report reads a row per interval, not one per agent (#18)."""

    __tablename__ = "report_presence"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    seconds_logged_in: Mapped[float] = mapped_column(Float)


class RollupState(Base):
    """One row: how far the rollups reach and with which parameters they were made."""

    __tablename__ = "report_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rolled_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    calls_seen_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state_change_id: Mapped[int] = mapped_column(BigInteger, default=0)
    threshold_seconds: Mapped[float] = mapped_column(Float)
    short_abandon_seconds: Mapped[float] = mapped_column(Float)
    ring_limit_seconds: Mapped[float] = mapped_column(Float)
    # the queues' own service-level thresholds the rollups were made with (name -> seconds)
    queue_thresholds: Mapped[dict[str, float] | None] = mapped_column(JSONB)
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
