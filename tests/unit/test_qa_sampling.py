"""Which recordings quality inspectors get each month (R16), as pure decisions: reproducible,
spread over the month, long enough to judge, topped up without doubles, balanced across
inspectors."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.qa import sampling
from app.qa.sampling import Candidate

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = date(2026, 10, 1)
START, END = sampling.month_bounds(OCTOBER, SHANGHAI)
AGENT = uuid.UUID(int=7)


def rec(day: int, hour: int = 10, seconds: float | None = 240.0, n: int = 0) -> Candidate:
    return Candidate(uuid.UUID(int=day * 1000 + hour * 10 + n),
                     datetime(2026, 10, day, hour, tzinfo=SHANGHAI), seconds)


def month_of_calls() -> list[Candidate]:
    return [rec(day, hour) for day in range(1, 32) for hour in (9, 15)]


def pick(cands, n=3, already=(), seed=1, min_seconds=60.0):
    return sampling.pick(cands, n=n, already=list(already), start=START, end=END,
                         min_seconds=min_seconds, seed=seed)


def test_the_month_is_the_local_month():
    assert START == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert END == datetime(2026, 10, 31, 16, tzinfo=UTC)
    after_midnight = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)  # 1 November 00:30 local
    assert sampling.month_of(after_midnight, SHANGHAI) == date(2026, 11, 1)
    assert sampling.parse_month("2026-10") == OCTOBER
    assert sampling.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    for bad in ("2026-13", "2026-1", "26-10", "2026-10-01", ""):
        with pytest.raises(ValueError):
            sampling.parse_month(bad)


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI), date(2026, 10, 1)),   # the new month began
    (datetime(2026, 10, 31, 15, 59, tzinfo=UTC), date(2026, 9, 1)),      # 23:59 local, still Oct
    (datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI), date(2026, 12, 1)),    # across the year
])
def test_the_monthly_job_samples_the_month_before_the_local_one(now, expected):
    assert sampling.previous_month(now, SHANGHAI) == expected


def test_the_same_data_and_seed_give_the_same_sample_and_another_seed_another():
    cands = month_of_calls()
    first = pick(cands, seed=sampling.seed_of(OCTOBER, AGENT))
    assert first == pick(list(reversed(cands)), seed=sampling.seed_of(OCTOBER, AGENT))
    others = {tuple(c.recording_id for c in pick(cands, seed=sampling.seed_of(OCTOBER, AGENT, s)))
              for s in ("a", "b", "c", "d")}
    assert len(others) > 1


@pytest.mark.parametrize("seed", range(20))
def test_samples_are_spread_one_per_part_of_the_month(seed):
    chosen = pick(month_of_calls(), n=3, seed=seed)
    thirds = sorted(int((c.started_at - START) / ((END - START) / 3)) for c in chosen)
    assert thirds == [0, 1, 2]


def test_recordings_too_short_to_judge_are_taken_only_when_there_are_too_few_long_ones():
    cands = [rec(2, seconds=12.0), rec(5), rec(9, seconds=None), rec(20, seconds=45.0),
             rec(25, seconds=59.9)]
    chosen = pick(cands, n=3, min_seconds=60.0)
    # the one long recording, then the longest of the short ones (an unknown length last)
    assert [c.started_at.day for c in chosen] == [5, 20, 25]
    assert pick([rec(3, seconds=5.0)], n=3) == [rec(3, seconds=5.0)]


def test_an_agent_with_fewer_recordings_than_n_gets_them_all():
    cands = [rec(3), rec(17)]
    assert pick(cands, n=5) == cands
    assert pick([], n=3) == []


def test_topping_up_adds_only_what_is_missing_in_the_parts_not_yet_covered():
    cands = month_of_calls()
    early = [datetime(2026, 10, 2, 10, tzinfo=SHANGHAI)]  # sampled before, first third
    chosen = pick([c for c in cands], n=3, already=early, seed=4)
    assert len(chosen) == 2
    thirds = sorted(int((c.started_at - START) / ((END - START) / 3)) for c in chosen)
    assert thirds == [1, 2]
    assert pick(cands, n=3, already=early * 3) == []
    assert pick(cands, n=2, already=early * 3) == []  # a smaller N later removes nothing


def test_n_is_one_to_five():
    for n in (0, 6):
        with pytest.raises(ValueError, match="1 to 5"):
            pick(month_of_calls(), n=n)
    assert len(pick(month_of_calls(), n=5)) == 5


def test_a_month_with_recordings_on_one_day_still_gets_n():
    cands = [rec(14, hour, n=i) for i, hour in enumerate(range(8, 18))]
    assert len(pick(cands, n=4)) == 4


def test_samples_go_to_the_inspector_with_the_least_open_work():
    a, b, c = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
    plan = sampling.assign(list(range(7)), inspectors=[a, b, c], open_load={a: 3, b: 0})
    counts = {i: list(plan.values()).count(i) for i in (a, b, c)}
    # b and c first (b before c on ties), until everyone has about the same open work
    assert counts == {a: 1, b: 3, c: 3}
    assert [plan[n] for n in range(4)] == [b, c, b, c]
    final = {i: counts[i] + {a: 3}.get(i, 0) for i in (a, b, c)}
    assert max(final.values()) - min(final.values()) <= 1


def test_without_inspectors_nothing_is_assigned():
    assert sampling.assign([1, 2, 3], inspectors=[], open_load={}) == {}


def test_an_inspector_with_open_work_ignored_when_not_in_the_list():
    a, gone = uuid.UUID(int=1), uuid.UUID(int=9)
    assert sampling.assign([1, 2], inspectors=[a], open_load={gone: 0, a: 10}) == {1: a, 2: a}


def test_a_run_seed_changes_the_sample_but_the_month_and_agent_always_count():
    assert sampling.seed_of(OCTOBER, AGENT) == sampling.seed_of(OCTOBER, AGENT, "")
    assert sampling.seed_of(OCTOBER, AGENT) != sampling.seed_of(date(2026, 11, 1), AGENT)
    assert sampling.seed_of(OCTOBER, AGENT) != sampling.seed_of(OCTOBER, uuid.UUID(int=8))
    assert len({sampling.seed_of(OCTOBER, AGENT, str(i)) for i in range(50)}) == 50


def test_an_empty_gap_in_a_slot_is_filled_from_the_rest_of_the_month():
    # nothing in the middle third: three recordings still, two from one third
    cands = [rec(2), rec(4), rec(25), rec(28)]
    chosen = pick(cands, n=3, seed=2)
    assert len(chosen) == 3 and len(set(chosen)) == 3
    assert all(c in cands for c in chosen)
    assert chosen == sorted(chosen, key=lambda c: c.started_at)
    thirds = {int((c.started_at - START) / ((END - START) / 3)) for c in chosen}
    assert thirds == {0, 2}  # each third with recordings still gets one
