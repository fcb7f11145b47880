"""Exponential backoff with jitter for reconnecting; `reset()` after a successful connection."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, *, minimum: float = 0.5, maximum: float = 30.0, factor: float = 2.0,
                 jitter: float = 0.1, rng: random.Random | None = None) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter < 1")
        self.minimum, self.maximum, self.factor, self.jitter = minimum, maximum, factor, jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    @property
    def attempt(self) -> int:
        return self._attempt

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one more failed attempt."""
        base = min(self.maximum, self.minimum * self.factor ** self._attempt)
        self._attempt += 1
        spread = base * self.jitter
        return max(self.minimum, min(self.maximum, base + self._rng.uniform(-spread, spread)))

    def reset(self) -> None:
        self._attempt = 0
