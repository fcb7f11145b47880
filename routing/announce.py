"""What a waiting caller is told (R9: queueing): position and estimated wait, as prompt names.

Pure: numbers are spoken digit by digit with the digit_N prompts; minutes are rounded up, and no
estimate is given when nobody could answer soon (an estimate then would be a guess).
"""

from __future__ import annotations

import math


def digits(number: int) -> list[str]:
    return [f"digit_{d}" for d in str(number)]


def announcement(position: int, estimated_wait_seconds: float | None) -> list[str]:
    """'All agents are busy; you are number N; the estimated wait is M minutes.'"""
    if position < 1:
        raise ValueError("positions start at 1")
    prompts = ["please_hold", "queue_position", *digits(position), "queue_position_end"]
    if estimated_wait_seconds is not None and estimated_wait_seconds > 0:
        minutes = max(1, math.ceil(estimated_wait_seconds / 60))
        prompts += ["estimated_wait", *digits(minutes), "minutes"]
    return prompts
