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
  of exponentials with rates nμ + iθ, i = 1..j+1 (uniformisation); so SL(t) is the share of
  arrivals answered within t, abandons counting against it as in `definitions`.
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


def _poisson(mean: float, eps: float = 1e-10) -> list[float]:
    """Poisson(mean) probabilities 0..K with the tail beyond K under eps."""
    probs, p, k, total = [], math.exp(-mean), 0, 0.0
    if p == 0.0:  # a large mean: start from the mode in logs
        return _poisson_large(mean, eps)
    while True:
        probs.append(p)
        total += p
        if total >= 1 - eps and k > mean:
            return probs
        k += 1
        p *= mean / k


def _poisson_large(mean: float, eps: float) -> list[float]:
    top = int(mean + 12 * math.sqrt(mean) + 20)
    return [math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(top + 1)]


def service_level_a(agents: int, arrivals_per_second: float, aht: float, patience: float,
                    answer_seconds: float, eps: float = 1e-9) -> float:
    """Share of arrivals answered within `answer_seconds` (Erlang A: M/M/n+M)."""
    lam, mu, theta, n = arrivals_per_second, 1 / aht, 1 / patience, agents
    if lam <= 0:
        return 1.0
    if n <= 0:
        return 0.0
    # π_k for k <= n (in logs, scaled to the largest), then π_{n+j} = π_{n+j-1}·λ/(nμ + jθ)
    logs = [k * math.log(lam / mu) - math.lgamma(k + 1) for k in range(n + 1)]
    top_log = max(logs)
    weights = [math.exp(v - top_log) for v in logs]
    queue = [weights[n]]  # π_{n+j}: an arrival finding it has j callers waiting ahead
    total = sum(weights)
    j = 0
    while True:
        j += 1
        nxt = queue[-1] * lam / (n * mu + j * theta)
        queue.append(nxt)
        total += nxt
        if nxt < eps * total:
            break
    # an arrival finding k < n agents busy is answered at once
    answered = sum(weights[:n])
    # finding n + j: j ahead; stage rates nμ + iθ, i = 1..j+1, each passed with the ratio
    # (telescoping to nμ / (nμ + (j+1)θ)); uniformised over the deepest stage's rate
    depth = len(queue)
    rates = [n * mu + (i + 1) * theta for i in range(depth)]  # stage with i ahead
    top = rates[-1]
    p_adv = [r / top for r in rates]
    poisson = _poisson(top * answer_seconds)
    # done[i]: probability of having passed every stage from "i ahead" within the steps so far
    done = [0.0] * depth
    within = [poisson[0] * d for d in done]
    for k in range(1, len(poisson)):
        new = [0.0] * depth
        for i in range(depth):
            below = 1.0 if i == 0 else done[i - 1]
            new[i] = p_adv[i] * below + (1 - p_adv[i]) * done[i]
        done = new
        pk = poisson[k]
        for i in range(depth):
            within[i] += pk * done[i]
    for i in range(depth):  # arrival finding n + i: i ahead of it
        answered += queue[i] * (n * mu) / (n * mu + (i + 1) * theta) * within[i]
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
        while n > 1 and enough(n - 1):
            n -= 1
        return n
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
