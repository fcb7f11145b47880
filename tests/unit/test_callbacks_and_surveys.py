"""Pure decisions of call-backs and surveys (R8, R15, R17): survey keys, report weeks across time
zones, retry spacing and limits, what a customer leg's end means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.callbacks.rules import (AttemptOutcome, Refusal, TaskStatus, after_attempt,
                                 customer_outcome, refusal)
from app.surveys import rules as survey

T = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- survey keys ---------------------------------------------------------------------------
@pytest.mark.parametrize("digit", list("12345"))
def test_a_key_from_1_to_5_is_the_score_and_the_caller_is_thanked(digit):
    state, ask = survey.start()
    assert ask == survey.Ask(("survey_question",), 1)
    _, action = survey.on_key(state, digit)
    assert action == survey.Finish(int(digit), ("survey_thanks",))


@pytest.mark.parametrize("digit", list("06789*#A"))
def test_a_wrong_key_repeats_the_question_once_then_thanks_without_a_score(digit):
    state, _ = survey.start()
    state, again = survey.on_key(state, digit)
    assert again == survey.Ask(("survey_invalid", "survey_question"), 2)
    _, done = survey.on_key(state, digit)
    assert done == survey.Finish(None, ("thanks",))


def test_after_one_wrong_key_a_good_one_still_counts():
    state, _ = survey.start()
    state, _ = survey.on_key(state, "9")
    assert survey.on_key(state, "4")[1] == survey.Finish(4, ("survey_thanks",))


def test_silence_counts_as_a_wrong_answer():
    state, _ = survey.start()
    state, again = survey.on_silence(state)
    assert isinstance(again, survey.Ask) and again.token == 2
    assert survey.on_silence(state)[1] == survey.Finish(None, ("thanks",))


# -- report weeks ---------------------------------------------------------------------------
def test_a_week_is_monday_to_sunday_in_the_centres_time_zone():
    week = survey.week_range("2026-W47", SHANGHAI)
    assert week.start == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)   # Mon 16 Nov 00:00 +08
    assert week.end == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)     # Mon 23 Nov 00:00 +08
    assert week.ready_by == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Mon 23 Nov 18:00 +08


def test_a_week_across_a_daylight_saving_change_is_167_hours():
    berlin = survey.week_range("2026-W44", ZoneInfo("Europe/Berlin"))  # clocks go back 25 Oct
    assert berlin.start == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # Mon 26 Oct 00:00 CET
    assert (berlin.end - berlin.start) == timedelta(hours=168)
    w43 = survey.week_range("2026-W43", ZoneInfo("Europe/Berlin"))
    assert w43.end - w43.start == timedelta(hours=169)  # Mon 19 Oct 00:00 CEST .. Mon 26 CET
    ny = survey.week_range("2026-W11", ZoneInfo("America/New_York"))  # forward on 8 March
    assert ny.end - ny.start == timedelta(hours=168)
    w10 = survey.week_range("2026-W10", ZoneInfo("America/New_York"))
    assert w10.end - w10.start == timedelta(hours=167)


def test_the_same_week_starts_at_different_instants_in_different_zones():
    shanghai = survey.week_range("2026-W47", SHANGHAI)
    london = survey.week_range("2026-W47", ZoneInfo("Europe/London"))
    assert london.start - shanghai.start == timedelta(hours=8)


def test_the_week_due_on_a_monday_is_the_one_before_in_local_time():
    # Monday 23 Nov 01:00 in Shanghai is still Sunday 22 Nov in UTC: the local week counts.
    at = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert survey.week_of(at, SHANGHAI) == "2026-W48"
    assert survey.week_of(at, ZoneInfo("UTC")) == "2026-W47"
    assert survey.last_week(at, SHANGHAI) == "2026-W47"


def test_week_53_and_the_turn_of_the_year():
    week = survey.week_range("2026-W53", SHANGHAI)
    assert week.start.astimezone(SHANGHAI).date().isoformat() == "2026-12-28"
    assert survey.week_range("2027-W01", SHANGHAI).start == week.end
    assert survey.last_week(datetime(2027, 1, 4, 2, tzinfo=UTC), SHANGHAI) == "2026-W53"


@pytest.mark.parametrize("bad", ["2026-47", "2026-W54", "2025-W53", "W47", "2026-W00"])
def test_a_bad_week_is_refused(bad):
    with pytest.raises(ValueError):
        survey.week_range(bad, SHANGHAI)


# -- retries and limits ---------------------------------------------------------------------
RETRY = timedelta(minutes=30)


def test_an_answered_attempt_completes_the_task():
    after = after_attempt(attempts=1, max_attempts=3, outcome=AttemptOutcome.answered, at=T,
                          retry=RETRY)
    assert (after.status, after.attempts, after.next_attempt_at) == (TaskStatus.done, 2, None)


@pytest.mark.parametrize("outcome", [AttemptOutcome.no_answer, AttemptOutcome.busy,
                                     AttemptOutcome.failed])
def test_a_failed_attempt_is_tried_again_after_the_spacing(outcome):
    after = after_attempt(attempts=0, max_attempts=3, outcome=outcome, at=T, retry=RETRY)
    assert (after.status, after.attempts, after.next_attempt_at) == (TaskStatus.open, 1, T + RETRY)


def test_the_last_allowed_failure_makes_the_customer_unreachable():
    attempts, statuses = 0, []
    for _ in range(3):
        after = after_attempt(attempts=attempts, max_attempts=3,
                              outcome=AttemptOutcome.no_answer, at=T, retry=RETRY)
        attempts = after.attempts
        statuses.append(after.status)
    assert statuses == [TaskStatus.open, TaskStatus.open, TaskStatus.unreachable]
    assert after.next_attempt_at is None


def test_a_task_may_be_called_only_when_open_and_due():
    assert refusal("open", None, T) is None
    assert refusal("open", T, T) is None
    assert refusal("open", T + timedelta(seconds=1), T) is Refusal.too_early
    assert refusal("in_progress", None, T) is Refusal.in_progress
    for closed in ("done", "unreachable", "cancelled"):
        assert refusal(closed, None, T) is Refusal.closed


@pytest.mark.parametrize(("cause", "dialstatus", "outcome"), [
    (17, None, "busy"), (21, None, "busy"), (19, None, "no_answer"), (16, None, "no_answer"),
    (None, None, "no_answer"), (1, None, "failed"), (34, None, "failed"),
    (16, "BUSY", "busy"), (0, "CHANUNAVAIL", "failed"), (16, "NOANSWER", "no_answer")])
def test_a_customer_leg_that_ends_unanswered_is_busy_no_answer_or_failed(cause, dialstatus,
                                                                         outcome):
    assert customer_outcome(cause, dialstatus) == outcome
