"""How many agents each interval needs to keep the three-ring rule (R1, R19: "合理安排座席"), from
Erlang C, and Erlang A (with abandonment) where the callers' patience is measured (#18).

Pure functions of numbers, no database: `queries.staffing` feeds them the measured arrivals,
AHT and patience of the same weekday and interval over the last weeks.

- Erlang B by its recursion B(0) = 1, B(n) = a·B(n-1) / (n + a·B(n-1)); Erlang C from it:
  C(n, a) = n·B / (n - a·(1 - B)) for n > a (1 otherwise: the queue grows without end).
- Erlang C (M/M/n): service level SL(t) = 1 - C·exp(-(n - a)·t / AHT); ASA = C·AHT / (n - a).
- Erlang A (M/M/n+M, patience exponential with mean P, θ = 1/P): the stationary number in the
  system π_k (birth λ, death min(k, n)·μ + max(k - n, 0)·θ); an arrival that finds j callers
  waiting ahead is answered with probability nμ / (nμ + (j+1)θ), after a time that is the sum
  of exponentials with rates nμ + iθ, i = 1..j+1, whose distribution follows from exp(-θT) ~
  Beta(nμ/θ + 1, j + 1) (one incomplete-beta term more per j); so SL(t) is the share of
  arrivals answered within t, abandons counting against it as in `definitions`. The tests
  check it against a uniformisation of the same chain, and against Erlang C as θ -> 0.
- agents needed: the fewest n that reach the target service level (and n > a for Erlang C).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

MAX_AGENTS = 2000


def erlang_b(agents: int, erlangs: float) -> float:
    """Blocking probability of `agents` servers offered `erlangs` (the recursion)."""
    b = 1.0
    for n in range(1, agents + 1):
        b = erlangs * b / (n + erlangs * b)
    return b


def erlang_c(agents: int, erlangs: float) -> float:
    """Probability that a call waits (Erlang C), from Erlang B."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    b = erlang_b(agents, erlangs)
    return agents * b / (agents - erlangs * (1 - b))


def service_level_c(agents: int, erlangs: float, aht: float, answer_seconds: float) -> float:
    """Share of calls answered within `answer_seconds` (Erlang C)."""
    if erlangs <= 0:
        return 1.0
    if agents <= erlangs:
        return 0.0
    return 1 - erlang_c(agents, erlangs) * math.exp(-(agents - erlangs) * answer_seconds / aht)


def asa_c(agents: int, erlangs: float, aht: float) -> float | None:
    """Average speed of answer (Erlang C); None when the queue grows without end."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return None
    return erlang_c(agents, erlangs) * aht / (agents - erlangs)


def service_level_a(agents: int, arrivals_per_second: float, aht: float, patience: float,
                    answer_seconds: float, eps: float = 1e-10) -> float:
    """Share of arrivals answered within `answer_seconds` (Erlang A: M/M/n+M)."""
    lam, mu, theta, n = arrivals_per_second, 1 / aht, 1 / patience, agents
    if lam <= 0:
        return 1.0
    if n <= 0:
        return 0.0
    # π_k relative to π_n: π_{k-1} = π_k·k/a for k <= n (rescaled should they grow), then
    # π_{n+j} = π_{n+j-1}·λ/(nμ + jθ)
    erlangs = lam / mu
    w, below = 1.0, 0.0
    for k in range(n, 0, -1):
        w *= k / erlangs
        below += w
        if below > 1e250:  # far more agents than traffic: π_n is negligible
            return 1.0
    total = below + 1.0
    answered = below  # finding an agent free: answered at once
    # Finding n + j (j waiting ahead): answered with probability nμ / (nμ + (j+1)θ), after
    # T = Σ_{m=1}^{j+1} Exp(nμ + mθ) = Σ Exp(θ(c + m)), c = nμ/θ; exp(-θT) ~ Beta(c+1, j+1)
    # (Rényi's order statistics), so P(T <= t) = 1 - I_x(c+1, j+1), x = exp(-θt), with
    # I_x(a, k+1) = I_x(a, k) + x^a (1-x)^k Γ(a+k) / (Γ(a) k!): one term more per j.
    c = n * mu / theta
    x = math.exp(-theta * answer_seconds)
    term = math.exp((c + 1) * math.log(x)) if x > 0 else 0.0  # x^a: I_x(a, 1)
    beta_cdf = term
    pi = 1.0
    j = 0
    while True:
        answered += pi * (n * mu) / (n * mu + (j + 1) * theta) * (1 - beta_cdf)
        j += 1
        pi *= lam / (n * mu + j * theta)
        total += pi
        term *= (c + j) / j * (1 - x)  # (a + k - 1)/k with a = c + 1, k = j
        beta_cdf = min(1.0, beta_cdf + term)
        if pi < eps * total:
            return answered / total


def agents_erlang_c(*, calls: float, interval_seconds: float, aht: float, target: float,
                    answer_seconds: float) -> int:
    """Fewest agents for `target` of `calls` in the interval answered within the limit."""
    erlangs = calls * aht / interval_seconds
    if calls <= 0:
        return 0
    n = max(1, math.floor(erlangs) + 1)
    while service_level_c(n, erlangs, aht, answer_seconds) < target and n < MAX_AGENTS:
        n += 1
    return n


def agents_erlang_a(*, calls: float, interval_seconds: float, aht: float, patience: float,
                    target: float, answer_seconds: float, start: int | None = None) -> int:
    """The same with abandonment (Erlang A). `start`: a first guess (Erlang C's answer)."""
    if calls <= 0:
        return 0
    lam = calls / interval_seconds

    def enough(agents: int) -> bool:
        return service_level_a(agents, lam, aht, patience, answer_seconds) >= target

    n = max(1, start or agents_erlang_c(calls=calls, interval_seconds=interval_seconds, aht=aht,
                                        target=target, answer_seconds=answer_seconds))
    if enough(n):  # abandons thin the queue: usually a few agents fewer than Erlang C
        step, hi = 1, n
        while hi - step >= 1 and enough(hi - step):  # gallop down, then halve the gap
            hi, step = hi - step, step * 2
        lo = max(hi - step, 0)  # not enough (or none)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if enough(mid) else (mid, hi)
        return hi
    while not enough(n) and n < MAX_AGENTS:  # very impatient callers count against: more
        n += 1
    return n


@dataclass(frozen=True)
class Need:
    erlangs: float
    agents_erlang_c: int
    agents_erlang_a: int | None
    agents_needed: int
    service_level: float | None  # expected at agents_needed
    asa_seconds: float | None    # Erlang C's, when it is the answer


@functools.lru_cache(maxsize=4096)
def need(*, calls: float, interval_seconds: float, aht: float | None, patience: float | None,
         target: float, answer_seconds: float) -> Need:
    """Agents an interval needs: Erlang C, and Erlang A when the patience is known (then it
    is the answer: it counts the callers who would hang up anyway). Cached: the same history
    gives the same answer."""
    if calls <= 0 or aht is None or aht <= 0:
        return Need(0.0, 0, None, 0, None, None)
    erlangs = calls * aht / interval_seconds
    c = agents_erlang_c(calls=calls, interval_seconds=interval_seconds, aht=aht, target=target,
                        answer_seconds=answer_seconds)
    a = None
    if patience is not None and patience > 0:
        a = agents_erlang_a(calls=calls, interval_seconds=interval_seconds, aht=aht,
                            patience=patience, target=target, answer_seconds=answer_seconds,
                            start=c)
    n = a if a is not None else c
    sl = (service_level_a(n, calls / interval_seconds, aht, patience, answer_seconds)
          if a is not None and patience else service_level_c(n, erlangs, aht, answer_seconds))
    return Need(erlangs, c, a, n, sl, asa_c(n, erlangs, aht) if a is None else None)
