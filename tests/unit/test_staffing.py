"""Staffing from Erlang C and Erlang A (#18, R1, R19), checked against published Erlang C
examples and against a second, independent formulation of the same formula.

Published numbers used here:
- Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example"
  (callcentrehelper.com): 100 calls in 30 minutes, AHT 180 s, target 80 % answered in 20 s:
  10 Erlangs; 11 agents: probability of waiting 68.21 %, service level 39.0 %; 14 agents: the
  first to meet the target, service level 88.8 %, ASA 7.8 s, occupancy 71.4 %.
- Westbay Engineers, "The Erlang-C formula" (erlang.com): 360 calls per half hour, average call
  4 minutes, 55 agents, target answer time 15 s: traffic intensity 48 Erlangs, occupancy
  0.873, probability of waiting 23.9 %, ASA 8.2 s, service level 84.6 %.
Each is checked to the precision it was published with, and every value is recomputed with the
textbook closed form (the factorial sum) below, not with the Erlang B recursion the module uses.
"""

from __future__ import annotations

import math

import pytest

from app.reports import staffing
from app.reports.staffing import (agents_erlang_a, agents_erlang_c, asa_c, erlang_b, erlang_c,
                                  need, service_level_a, service_level_c)


def erlang_c_closed_form(n: int, a: float) -> float:
    """C(n, a) = (a^n/n! · n/(n-a)) / (Σ_{k<n} a^k/k! + a^n/n! · n/(n-a))."""
    top = a ** n / math.factorial(n) * n / (n - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)


def test_call_centre_helpers_worked_example():
    a = 100 * 180 / 1800
    assert a == 10
    assert erlang_c(11, a) == pytest.approx(0.6821, abs=5e-5)
    assert service_level_c(11, a, 180, 20) == pytest.approx(0.390, abs=5e-4)
    assert [round(service_level_c(n, a, 180, 20), 3) for n in (12, 13)] == [0.640, 0.796]
    assert service_level_c(14, a, 180, 20) == pytest.approx(0.888, abs=5e-4)
    assert asa_c(14, a, 180) == pytest.approx(7.8, abs=0.05)
    assert a / 14 == pytest.approx(0.714, abs=5e-4)  # occupancy
    assert agents_erlang_c(calls=100, interval_seconds=1800, aht=180, target=0.8,
                           answer_seconds=20) == 14


def test_westbays_worked_example():
    a = 360 * 240 / 1800
    assert a == 48 and a / 55 == pytest.approx(0.873, abs=5e-4)
    assert erlang_c(55, a) == pytest.approx(0.239, abs=5e-4)
    assert asa_c(55, a, 240) == pytest.approx(8.2, abs=0.05)
    assert service_level_c(55, a, 240, 15) == pytest.approx(0.846, abs=5e-4)


@pytest.mark.parametrize(("n", "a"), [(1, 0.5), (2, 1.0), (5, 3.3), (14, 10.0), (30, 25.7),
                                      (55, 48.0), (80, 71.2)])
def test_erlang_c_from_the_erlang_b_recursion_equals_the_closed_form(n, a):
    assert erlang_c(n, a) == pytest.approx(erlang_c_closed_form(n, a), rel=1e-9)


def test_erlang_b_recursion_matches_its_closed_form():
    a, n = 7.5, 10
    closed = (a ** n / math.factorial(n)) / sum(a ** k / math.factorial(k) for k in range(n + 1))
    assert erlang_b(n, a) == pytest.approx(closed, rel=1e-12)


def test_too_few_agents_never_keep_up():
    assert erlang_c(10, 10.0) == 1.0 and service_level_c(9, 10.0, 180, 20) == 0.0
    assert asa_c(10, 10.0, 180) is None


def test_erlang_a_with_endless_patience_is_erlang_c():
    for n, calls, aht, t in [(14, 100, 180, 20), (55, 360, 240, 15), (3, 20, 200, 15)]:
        assert service_level_a(n, calls / 1800, aht, 1e12, t) == pytest.approx(
            service_level_c(n, calls * aht / 1800, aht, t), abs=1e-6)


def test_erlang_a_needs_fewer_agents_when_callers_give_up_and_c_is_the_bound():
    """Callers who hang up after a minute on average thin the queue: 12 agents keep 80 % in
    15 s where Erlang C asks for 14; patient callers (10 minutes) need 13 (the answer changes,
    which is why both are shown)."""
    kw = dict(calls=100, interval_seconds=1800, aht=180, target=0.8, answer_seconds=15)
    assert agents_erlang_c(**kw) == 14
    assert agents_erlang_a(patience=60, **kw) == 12
    assert agents_erlang_a(patience=600, **kw) == 13
    assert agents_erlang_a(patience=1e9, **kw) == 14
    # an Erlang A answer is the fewest: one agent fewer misses the target
    assert service_level_a(11, 100 / 1800, 180, 60, 15) < 0.8 <= service_level_a(
        12, 100 / 1800, 180, 60, 15)


def test_the_need_of_an_interval_uses_erlang_a_when_the_patience_is_known():
    with_patience = need(calls=100, interval_seconds=1800, aht=180, patience=60, target=0.8,
                         answer_seconds=15)
    assert (with_patience.agents_erlang_c, with_patience.agents_erlang_a,
            with_patience.agents_needed) == (14, 12, 12)
    assert with_patience.service_level >= 0.8
    without = need(calls=100, interval_seconds=1800, aht=180, patience=None, target=0.8,
                   answer_seconds=15)
    assert (without.agents_erlang_a, without.agents_needed) == (None, 14)
    assert without.asa_seconds == pytest.approx(asa_c(14, 10.0, 180))
    empty = need(calls=0, interval_seconds=1800, aht=180, patience=60, target=0.8,
                 answer_seconds=15)
    assert empty.agents_needed == 0 and empty.service_level is None


def test_a_large_interval_is_staffed_too():
    n = staffing.need(calls=2000, interval_seconds=1800, aht=300, patience=90, target=0.9,
                      answer_seconds=15)
    assert n.erlangs == pytest.approx(333.33, abs=0.01)
    assert n.agents_erlang_a <= n.agents_erlang_c and n.agents_erlang_c > 334


# -- Erlang A, the second way: uniformisation of the waiting caller's stages -----------------------
def _poisson(mean: float, eps: float = 1e-13) -> list[float]:
    probs, p, k, total = [], math.exp(-mean), 0, 0.0
    while True:
        probs.append(p)
        total += p
        if total >= 1 - eps and k > mean:
            return probs
        k += 1
        p *= mean / k


def service_level_a_by_uniformisation(n: int, lam: float, aht: float, patience: float,
                                      t: float) -> float:
    """The same M/M/n+M figure without the Beta identity: the stationary π_k, then for a
    caller finding j ahead the chance to pass each stage (advance nμ + iθ against its own
    abandonment θ) within t, by uniformising the stage chain."""
    mu, theta = 1 / aht, 1 / patience
    pis = [lam ** k / (mu ** k * math.factorial(k)) for k in range(n + 1)]
    queue = [pis[n]]
    while queue[-1] > 1e-14 * (sum(pis) + sum(queue)):
        queue.append(queue[-1] * lam / (n * mu + len(queue) * theta))
    total = sum(pis[:n]) + sum(queue)
    rates = [n * mu + (i + 1) * theta for i in range(len(queue))]  # leaving the stage "i ahead"
    top = rates[-1]
    poisson = _poisson(top * t)
    done, within = [0.0] * len(queue), [0.0] * len(queue)
    for pk in poisson[1:]:
        done = [(rates[i] - theta) / top * (1.0 if i == 0 else done[i - 1])
                + (1 - rates[i] / top) * done[i] for i in range(len(queue))]
        within = [w + pk * d for w, d in zip(within, done, strict=True)]
    return (sum(pis[:n]) + sum(q * w for q, w in zip(queue, within, strict=True))) / total


@pytest.mark.parametrize(("n", "calls", "aht", "patience", "t"), [
    (12, 100, 180, 60, 15), (14, 100, 180, 600, 20), (3, 20, 200, 30, 15), (58, 570, 180, 120, 15),
    (50, 360, 240, 90, 30), (1, 5, 300, 45, 15)])
def test_erlang_a_by_the_beta_identity_equals_uniformisation(n, calls, aht, patience, t):
    assert service_level_a(n, calls / 1800, aht, patience, t) == pytest.approx(
        service_level_a_by_uniformisation(n, calls / 1800, aht, patience, t), abs=1e-7)
