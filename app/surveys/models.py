"""The weekly satisfaction summaries as they were made (R17: by Monday 18:00, #18)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class SatisfactionWeek(Base):
    """One ISO week's summary, made once the week was over and kept unchanged: a score given
    late changes the live figures, never what was reported."""

    __tablename__ = "satisfaction_weeks"

    week: Mapped[str] = mapped_column(String(8), primary_key=True)  # 2026-W47
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB)
