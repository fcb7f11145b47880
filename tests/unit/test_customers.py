"""Callers are found in the customer archive however their number is written."""

from __future__ import annotations

import pytest

from app.customers.models import Customer
from app.customers.service import IMPORTANT_PRIORITY, normalise, priority


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"),
    ("0086-138-0013-8000", "13800138000"), ("8613800138000", "13800138000"),
    ("010-1234 5678", "01012345678"), ("86", "86"), ("", None), (None, None), ("abc", None),
])
def test_numbers_are_normalised_to_digits_without_chinas_country_code(raw, expected):
    assert normalise(raw) == expected


def test_important_customers_get_the_high_priority_and_others_none():  # R11
    assert priority(Customer(phone="1", important=True)) == IMPORTANT_PRIORITY
    assert priority(Customer(phone="1", important=False)) == 0
    assert priority(None) == 0
