"""Who may take a call (ready, language, skills, level R10, exclusions) and who gets it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from routing.agent_state import AgentState
from routing.strategies import (
    Agent, CallNeed, Level, Strategy, at_least, choose_agent, eligible, rank_agents,
)

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def agent(id: str, *, level: Level = Level.intermediate, skills=None, languages=("zh",),
          state: AgentState = AgentState.ready, idle: float | None = 60, calls: int = 0) -> Agent:
    return Agent(id=id, level=level, skills=dict(skills or {}), languages=frozenset(languages),
                 team="a", state=state, ready_since=None if idle is None else ago(idle),
                 calls_today=calls)


NEED = CallNeed(call_id="c1", language="zh")


# -- eligibility ------------------------------------------------------------------------------
@pytest.mark.parametrize("state", [s for s in AgentState if s is not AgentState.ready])
def test_only_a_ready_agent_is_eligible(state):
    assert not eligible(agent("a", state=state), NEED)
    assert eligible(agent("a"), NEED)


@pytest.mark.parametrize(("languages", "language", "expected"), [
    (("zh",), "zh", True),
    (("zh", "en"), "en", True),
    (("zh",), "en", False),
    (("yue",), "zh", False),
    ((), "zh", False),
    ((), None, True),          # no language requirement
])
def test_an_agent_must_speak_the_calls_language(languages, language, expected):
    assert eligible(agent("a", languages=languages), CallNeed("c1", language=language)) is expected


@pytest.mark.parametrize(("skills", "needed", "expected"), [
    ({}, set(), True),
    ({"billing": 1}, {"billing"}, True),
    ({"billing": 5, "tech": 2}, {"billing", "tech"}, True),
    ({"billing": 5}, {"billing", "tech"}, False),
    ({"tech": 5}, {"billing"}, False),
])
def test_an_agent_needs_every_required_skill(skills, needed, expected):
    need = CallNeed("c1", language="zh", skills=frozenset(needed))
    assert eligible(agent("a", skills=skills), need) is expected


@pytest.mark.parametrize(("level", "min_level", "expected"), [
    (Level.junior, None, True),
    (Level.junior, Level.junior, True),
    (Level.junior, Level.intermediate, False),
    (Level.junior, Level.senior, False),
    (Level.intermediate, Level.junior, True),
    (Level.intermediate, Level.senior, False),
    (Level.senior, Level.senior, True),
    (Level.senior, Level.junior, True),
])
def test_levels_are_ranked_junior_intermediate_senior(level, min_level, expected):
    assert at_least(level, min_level) is expected
    assert eligible(agent("a", level=level), CallNeed("c1", "zh", min_level=min_level)) is expected


def test_an_agent_who_already_missed_the_call_is_not_offered_it_again():
    need = CallNeed("c1", "zh", excluded=frozenset({"a"}))
    assert not eligible(agent("a"), need)
    assert eligible(agent("b"), need)


@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_junior_never_gets_a_call_that_needs_a_senior(strategy):
    agents = [agent("j1", level=Level.junior, idle=999, calls=0, skills={"complaints": 5}),
              agent("i1", level=Level.intermediate, idle=500, skills={"complaints": 5}),
              agent("s1", level=Level.senior, idle=1, calls=40, skills={"complaints": 1})]
    need = CallNeed("c1", "zh", skills=frozenset({"complaints"}), min_level=Level.senior)
    assert choose_agent(agents, need, strategy, now=NOW).id == "s1"
    assert choose_agent(agents[:2], need, strategy, now=NOW) is None


@pytest.mark.parametrize("proficiency", [0, 6, -1])
def test_proficiency_outside_one_to_five_is_refused(proficiency):
    with pytest.raises(ValueError):
        agent("a", skills={"billing": proficiency})


def test_duplicate_agent_ids_are_refused():
    with pytest.raises(ValueError):
        choose_agent([agent("a"), agent("a")], NEED, now=NOW)


# -- strategies -------------------------------------------------------------------------------
@pytest.mark.parametrize(("agents", "expected"), [
    ([agent("a", idle=10), agent("b", idle=30), agent("c", idle=20)], "b"),
    ([agent("b", idle=30), agent("a", idle=30)], "a"),                     # tie: by id
    ([agent("a", idle=None), agent("b", idle=1)], "b"),                    # unknown: least idle
    ([agent("a", idle=10), agent("b", idle=90, state=AgentState.paused)], "a"),
    ([agent("a", idle=10), agent("b", idle=90, languages=("en",))], "a"),
    ([], None),
])
def test_longest_idle_picks_the_agent_ready_the_longest(agents, expected):
    chosen = choose_agent(agents, NEED, Strategy.longest_idle, now=NOW)
    assert (chosen.id if chosen else None) == expected


def test_longest_idle_is_the_default():
    agents = [agent("a", idle=10, calls=0), agent("b", idle=30, calls=9)]
    assert choose_agent(agents, NEED, now=NOW).id == "b"


@pytest.mark.parametrize(("last", "expected"), [
    (None, "a"),
    ("a", "b"),
    ("b", "d"),          # c is paused: skipped
    ("d", "a"),          # wraps
    ("bb", "d"),         # the last agent left: continue after its id
    ("zz", "a"),
])
def test_round_robin_takes_the_next_eligible_agent_by_id_and_wraps(last, expected):
    agents = [agent("d", idle=1), agent("b", idle=5), agent("a", idle=2),
              agent("c", idle=99, state=AgentState.paused)]
    assert choose_agent(agents, NEED, Strategy.round_robin, now=NOW,
                        last_agent_id=last).id == expected


def test_round_robin_with_one_agent_offers_that_agent_again():
    assert choose_agent([agent("a")], NEED, Strategy.round_robin, now=NOW,
                        last_agent_id="a").id == "a"


@pytest.mark.parametrize(("agents", "expected"), [
    ([agent("a", calls=5), agent("b", calls=2), agent("c", calls=9)], "b"),
    ([agent("a", calls=2, idle=10), agent("b", calls=2, idle=50)], "b"),   # tie: longest idle
    ([agent("b", calls=2, idle=10), agent("a", calls=2, idle=10)], "a"),   # then by id
    ([agent("a", calls=0, state=AgentState.wrap_up), agent("b", calls=7)], "b"),
])
def test_fewest_calls_picks_the_least_loaded_agent(agents, expected):
    assert choose_agent(agents, NEED, Strategy.fewest_calls, now=NOW).id == expected


SKILLED = CallNeed("c1", "zh", skills=frozenset({"billing", "tech"}))


@pytest.mark.parametrize(("agents", "expected"), [
    ([agent("a", skills={"billing": 2, "tech": 2}), agent("b", skills={"billing": 5, "tech": 3}),
      agent("c", skills={"billing": 5, "tech": 5}, state=AgentState.on_call)], "b"),
    ([agent("a", skills={"billing": 4, "tech": 2}, idle=10),
      agent("b", skills={"billing": 3, "tech": 3}, idle=70)], "b"),       # tie 6: longest idle
    ([agent("b", skills={"billing": 3, "tech": 3}, idle=70),
      agent("a", skills={"billing": 3, "tech": 3}, idle=70)], "a"),       # then by id
    ([agent("a", skills={"billing": 1, "tech": 1}),
      agent("b", skills={"billing": 5})], "a"),                           # b lacks a skill
    ([agent("a", skills={"billing": 2, "tech": 2}),
      agent("b", skills={"billing": 5, "tech": 5})], "b"),
])
def test_skill_weighted_picks_the_highest_total_proficiency(agents, expected):
    assert choose_agent(agents, SKILLED, Strategy.skill_weighted, now=NOW).id == expected


def test_skill_weighted_ignores_skills_the_call_does_not_need():
    agents = [agent("a", skills={"billing": 3, "sales": 5}, idle=1),
              agent("b", skills={"billing": 4}, idle=1)]
    need = CallNeed("c1", "zh", skills=frozenset({"billing"}))
    assert choose_agent(agents, need, Strategy.skill_weighted, now=NOW).id == "b"


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_respects_exclusions_and_returns_none_when_nobody_fits(strategy):
    agents = [agent("a", skills={"billing": 5, "tech": 5}), agent("b", skills={"billing": 5})]
    need = replace(SKILLED, excluded=frozenset({"a"}))
    assert choose_agent(agents, need, strategy, now=NOW) is None
    assert rank_agents(agents, need, strategy, now=NOW) == []


@pytest.mark.parametrize("strategy", list(Strategy))
def test_the_choice_does_not_depend_on_input_order(strategy):
    agents = [agent(i, idle=idle, calls=calls, skills={"billing": p, "tech": 3})
              for i, idle, calls, p in [("a", 30, 3, 2), ("b", 30, 3, 2), ("c", 10, 1, 5),
                                        ("d", 50, 1, 2)]]
    first = rank_agents(agents, SKILLED, strategy, now=NOW, last_agent_id="b")
    again = rank_agents(list(reversed(agents)), SKILLED, strategy, now=NOW, last_agent_id="b")
    assert [a.id for a in first] == [a.id for a in again]
    assert sorted(a.id for a in first) == ["a", "b", "c", "d"]
