"""Quality inspection over HTTP (R16): a sampling run, the scoring form, an assignment."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.qa.sampling import MONTH, parse_month

# Each criterion 1-5, a whole number (strict: "4", 4.5 and true are refused).
Mark = Annotated[int, Field(strict=True, ge=1, le=5)]
MonthText = Annotated[str, Field(pattern=MONTH.pattern, examples=["2026-10"])]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: MonthText
    # R16: 1-5 per agent; default HOTLINE_QA_SAMPLES_PER_AGENT.
    per_agent: int | None = Field(None, ge=1, le=5)
    seed: str = Field("", max_length=64)

    @property
    def month_date(self) -> date:
        return parse_month(self.month)


class ScoreIn(BaseModel):
    """The scoring form: greeting and service phrases, attitude, tone, summarising the caller's
    need, handling the unexpected, each 1-5, and a comment (needed when a mark is 1 or 2)."""

    model_config = ConfigDict(extra="forbid")
    greeting: Mark
    attitude: Mark
    tone: Mark
    summary: Mark
    unexpected: Mark
    comment: str = Field("", max_length=4000)

    @field_validator("comment", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    def marks(self) -> dict[str, int]:
        return {"greeting": self.greeting, "attitude": self.attitude, "tone": self.tone,
                "summary": self.summary, "unexpected": self.unexpected}


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inspector_user_id: uuid.UUID
