"""The scoring form's arithmetic and the review rules (R16), pure: the clock is passed in.

- A score is five criteria, each 1-5 (greeting and service phrases, attitude, tone, summarising
  the caller's need, handling the unexpected); a criterion scored 1 or 2 needs a comment that
  says why (the agent reads it, and a low mark without a reason coaches nobody).
- A sample's **overall** is the mean of its five criteria.
- A sample is `scored`, else `pending` until its review deadline and `overdue` after it.
- Monthly figures (per agent or per team) over the samples of the month: `sampled`, `scored`,
  the average of each criterion over the scored samples, `overall` = the mean of the scored
  samples' overall scores (each sample weighs the same, so a team's figure is not an average of
  its agents' averages), and `lowest` = the criterion with the lowest average (ties: the first
  in the form's order); averages of nothing are None.
- Retention: a sampled recording is kept at least until its review deadline (done in SQL by
  `service.sample_month`: its retain_until becomes the later of its own and the deadline; a
  recording kept without limit stays so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.qa.models import CRITERIA

LOW = 2  # a criterion at or below this needs a comment


def overall(scores: Mapping[str, int]) -> float:
    return sum(scores[c] for c in CRITERIA) / len(CRITERIA)


def needs_comment(scores: Mapping[str, int], comment: str | None) -> list[str]:
    """The criteria scored low without a comment (empty: the form is complete)."""
    if comment and comment.strip():
        return []
    return [c for c in CRITERIA if scores[c] <= LOW]


def review_state(*, scored_at: datetime | None, review_due_at: datetime, now: datetime) -> str:
    if scored_at is not None:
        return "scored"
    return "overdue" if now >= review_due_at else "pending"


def review_due(sampled_at: datetime, *, review_days: int) -> datetime:
    return sampled_at + timedelta(days=review_days)


@dataclass
class Figures:
    sampled: int = 0
    scored: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CRITERIA, 0))

    def add(self, scores: Mapping[str, int | None] | None) -> None:
        self.sampled += 1
        if scores is None or any(scores.get(c) is None for c in CRITERIA):
            return
        self.scored += 1
        for c in CRITERIA:
            self.sums[c] += int(scores[c])  # type: ignore[arg-type]

    def averages(self) -> dict[str, float | None]:
        return {c: (self.sums[c] / self.scored if self.scored else None) for c in CRITERIA}

    def overall(self) -> float | None:
        # mean over samples of (mean over criteria) = mean over criteria of the sums / scored
        return sum(self.sums.values()) / (len(CRITERIA) * self.scored) if self.scored else None

    def lowest(self) -> str | None:
        if not self.scored:
            return None
        averages = self.averages()
        return min(CRITERIA, key=lambda c: (averages[c], CRITERIA.index(c)))

    def as_dict(self, digits: int = 2) -> dict[str, object]:
        rnd = (lambda v: None if v is None else round(v, digits))
        return {"sampled": self.sampled, "scored": self.scored,
                **{f"avg_{c}": rnd(v) for c, v in self.averages().items()},
                "overall": rnd(self.overall()), "lowest": self.lowest()}


def figures(rows: Iterable[Mapping[str, int | None] | None]) -> Figures:
    out = Figures()
    for row in rows:
        out.add(row)
    return out
