"""Call-back decisions, pure: whether a task may be tried now, what an attempt's result does to
it (done, later, unreachable after the maximum: R15's 3-5 failed contacts), and what a customer
leg's hang-up cause means."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TaskStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    unreachable = "unreachable"
    cancelled = "cancelled"


class AttemptOutcome(StrEnum):
    answered = "answered"
    no_answer = "no_answer"
    busy = "busy"
    failed = "failed"


class Refusal(StrEnum):
    in_progress = "in_progress"
    closed = "closed"
    too_early = "too_early"


def refusal(status: str, next_attempt_at: datetime | None, now: datetime) -> Refusal | None:
    """Why a task may not be called now, or None."""
    if status == TaskStatus.in_progress:
        return Refusal.in_progress
    if status != TaskStatus.open:
        return Refusal.closed
    if next_attempt_at is not None and next_attempt_at > now:
        return Refusal.too_early
    return None


@dataclass(frozen=True)
class AfterAttempt:
    status: TaskStatus
    attempts: int
    next_attempt_at: datetime | None


def after_attempt(*, attempts: int, max_attempts: int, outcome: AttemptOutcome, at: datetime,
                  retry: timedelta) -> AfterAttempt:
    """One more attempt that reached the customer's line: answered -> done; otherwise again
    `retry` later, or unreachable once `max_attempts` attempts have failed."""
    attempts += 1
    if outcome is AttemptOutcome.answered:
        return AfterAttempt(TaskStatus.done, attempts, None)
    if attempts >= max_attempts:
        return AfterAttempt(TaskStatus.unreachable, attempts, None)
    return AfterAttempt(TaskStatus.open, attempts, at + retry)


DIAL_STATUS = {"BUSY": AttemptOutcome.busy, "NOANSWER": AttemptOutcome.no_answer,
               "CHANUNAVAIL": AttemptOutcome.failed, "CONGESTION": AttemptOutcome.failed}


def customer_outcome(cause: int | None, dialstatus: str | None = None) -> AttemptOutcome:
    """A customer leg that ended before answering: by Asterisk's dial status when it gave one,
    else by the leg's Q.850 cause."""
    if dialstatus in DIAL_STATUS:
        return DIAL_STATUS[dialstatus]
    if cause in (17, 21):          # user busy, call rejected
        return AttemptOutcome.busy
    if cause in (None, 0, 16, 18, 19, 31):  # no reply / not answered in time / normal clearing
        return AttemptOutcome.no_answer
    return AttemptOutcome.failed   # unallocated number, congestion, network out of order, ...
