"""R10: which calls only senior agents may take, a pure decision.

Seniors take escalated complaints (an agent's escalation, `Transfer(escalate=True)`) and
complaints marked major or crisis (R6: complaints are general, or major/crisis). A caller with
such a complaint still open is that complaint's matter whichever queue the menu hands them to
(R6: returning callers go to the department handling their matter), so the need holds for every
queue. The level never goes down: a call that needs a senior keeps needing one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from routing.strategies import LEVEL_RANK, Level

# The complaint severities (app.complaints) that only a senior agent handles, worst first.
SENIOR_SEVERITIES = ("crisis", "major")


@dataclass(frozen=True)
class LevelNeed:
    level: Level
    why: str  # for the call's timeline


def level_needed(open_severities: Iterable[str], *, escalated: bool = False) -> LevelNeed | None:
    """The level a call needs given the severities of the caller's open complaints and whether an
    agent escalated it; None when any agent may take it."""
    severities = {s.strip().lower() for s in open_severities if s}
    worst = next((s for s in SENIOR_SEVERITIES if s in severities), None)
    if worst is not None:
        return LevelNeed(Level.senior, f"open complaint of severity {worst} (R10)")
    if escalated:
        return LevelNeed(Level.senior, "escalated by an agent (R10)")
    return None


def stricter(a: Level | None, b: Level | None) -> Level | None:
    """The higher of two minimum levels (None: no minimum)."""
    if a is None or b is None:
        return a or b
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b
