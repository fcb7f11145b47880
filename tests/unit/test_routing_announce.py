"""What waiting callers hear: their position and, when it means something, the expected wait."""

from __future__ import annotations

import pytest

from routing.announce import announcement


@pytest.mark.parametrize(("position", "wait", "expected"), [
    (1, 0, ["please_hold", "queue_position", "digit_1", "queue_position_end"]),
    (3, None, ["please_hold", "queue_position", "digit_3", "queue_position_end"]),
    (12, 61, ["please_hold", "queue_position", "digit_1", "digit_2", "queue_position_end",
              "estimated_wait", "digit_2", "minutes"]),
    (2, 10, ["please_hold", "queue_position", "digit_2", "queue_position_end",
             "estimated_wait", "digit_1", "minutes"]),  # under a minute: "one minute"
])
def test_the_announcement_says_the_position_and_a_wait_rounded_up_to_minutes(position, wait,
                                                                            expected):
    assert announcement(position, wait) == expected


def test_there_is_no_position_zero():
    with pytest.raises(ValueError):
        announcement(0, None)
