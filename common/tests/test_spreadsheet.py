"""Cells a spreadsheet could run as a formula or DDE are neutralised; plain numbers stay numbers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.spreadsheet import safe_cell


@pytest.mark.parametrize(
    "typed",
    [
        "=HYPERLINK(1)",
        "+91 98765 43210",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A2)",
        "|cmd /C calc",  # DDE through a pipe
        "\tTAB",
        "\rCR",
        " =1+1",  # after leading whitespace
        "\u00a0\u3000=1+1",  # no-break and ideographic spaces
        "\n=1+1",
        "\uff1d1+1",  # full-width = + - @ |
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
        "\uff5ccmd",
        "-",
        "-1-1",
        "--1",
        "-1e3",
    ],
)
def test_it_neutralises_what_a_spreadsheet_could_read_as_a_formula(typed):
    assert safe_cell(typed) == "'" + typed


@pytest.mark.parametrize("number", ["-12.5", "-0.000001", "-3", "0", "14.00", "2026-11-27"])
def test_plain_numbers_and_dates_the_code_writes_are_left_readable(number):
    assert safe_cell(number) == number


@pytest.mark.parametrize("text", ["alice", "Alice Rao", "alice@okbank", "a=b", "", "TN-CHN-042"])
def test_ordinary_text_is_left_alone(text):
    assert safe_cell(text) == text


FORMULA_LEADS = set("=+-@|\t\r\uff1d\uff0b\uff0d\uff20\uff5c")


@given(st.text())
def test_no_cell_begins_a_formula_after_whitespace(text):
    cell = safe_cell(text)
    lead = cell.lstrip()[:1]
    plain_number = cell == text and text.lstrip("-").replace(".", "", 1).isdigit()
    assert (cell[:1] not in ("\t", "\r") and lead not in FORMULA_LEADS) or plain_number, cell
