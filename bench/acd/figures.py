"""Figures from what the benchmark read: quantiles from Prometheus histogram buckets, and the
results table."""

from __future__ import annotations

import math

Metrics = dict[str, dict[tuple, float]]


def histogram_delta(before: Metrics, after: Metrics, name: str,
                    **labels: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of a histogram's buckets between two scrapes, summed over
    the label sets that match `labels`."""
    sums: dict[float, float] = {}
    for key, value in after.get(f"{name}_bucket", {}).items():
        d = dict(key)
        if any(d.get(k) != v for k, v in labels.items()):
            continue
        le = float(d["le"])
        sums[le] = sums.get(le, 0.0) + value - before.get(f"{name}_bucket", {}).get(key, 0.0)
    return sorted(sums.items())


def quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile (seconds) by linear interpolation inside the bucket it falls in (as
    Prometheus' histogram_quantile does); None without observations."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            inside = count - below
            return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = upper, count
    return lower


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
