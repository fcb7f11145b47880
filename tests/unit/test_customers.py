"""Callers are found in the customer archive however their number is written."""

from __future__ import annotations

import pytest

from app.customers.models import Customer
from app.customers.numbers import mask, national, normalise
from app.customers.service import IMPORTANT_PRIORITY, priority


@pytest.mark.parametrize(("raw", "expected"), [
    ("13800138000", "+8613800138000"), ("+86 138 0013 8000", "+8613800138000"),
    ("0086-138-0013-8000", "+8613800138000"), ("8613800138000", "+8613800138000"),
    ("(+86) 138-0013-8000", "+8613800138000"),
    ("010-1234 5678", "+861012345678"), ("01012345678", "+861012345678"),
    ("0755 8765 4321", "+8675587654321"), ("+1 (415) 555-2671", "+14155552671"),
    ("0014155552671", "+14155552671"),
    ("86", None), ("1001", None), ("", None), (None, None), ("abc", None), ("anonymous", None),
])
def test_numbers_are_normalised_to_e164_from_chinese_mobile_landline_and_international_forms(
        raw, expected):  # R14
    assert normalise(raw) == expected


@pytest.mark.parametrize(("number", "masked"), [
    ("+8613800138000", "138****8000"), ("+861012345678", "010****5678"),
    ("+14155552671", "+141****2671"), ("1234567", "*******"), (None, None),
])
def test_numbers_are_masked_to_first_three_and_last_four_digits(number, masked):  # R20
    assert mask(number) == masked


def test_the_national_form_is_what_a_person_dials():
    assert national("+8613800138000") == "13800138000"
    assert national("+861012345678") == "01012345678"
    assert national("+14155552671") == "+14155552671"


def test_important_customers_get_the_high_priority_and_others_none():  # R11
    assert priority(Customer(phone="1", important=True)) == IMPORTANT_PRIORITY
    assert priority(Customer(phone="1", important=False)) == 0
    assert priority(None) == 0
