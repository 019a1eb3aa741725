"""The one money format, at its edges (the page's script writes the same: static/js/money.js)."""

from decimal import Decimal

import pytest
from django.utils import translation

from common.money import money_html, money_parts, rupees


@pytest.mark.parametrize(
    ("amount", "parts"),
    [
        ("0", ("₹0.00", "00", "0.000000")),
        ("0.000001", ("₹0.00", "00", "0.000001")),  # under a hundredth of a paisa: not shown
        ("0.004438", ("₹0.00", "44", "0.004438")),  # sub-paise during a cut
        ("14.004438", ("₹14.00", "44", "14.004438")),
        ("99999.999999", ("₹99,999.99", "99", "99999.999999")),  # truncated, never rounded up
        ("100000", ("₹1,00,000.00", "00", "100000.000000")),  # a lakh
        ("10000000", ("₹1,00,00,000.00", "00", "10000000.000000")),  # a crore
        ("123456789.5", ("₹12,34,56,789.50", "00", "123456789.500000")),
        ("-12.345678", ("-₹12.34", "56", "-12.345678")),  # an adjustment taking money back
        ("-100000", ("-₹1,00,000.00", "00", "-100000.000000")),
        ("-0.000050", ("₹0.00", "00", "-0.000050")),  # too little to show: no "-₹0.00"
        ("-0.0001", ("-₹0.00", "01", "-0.000100")),  # a hundredth of a paisa back: shown
    ],
)
@pytest.mark.parametrize("language", ["en", "ta", "hi"])
def test_money_parts_are_the_same_indian_rupees_in_every_language(amount, parts, language):
    with translation.override(language):
        assert money_parts(Decimal(amount)) == parts


def test_exact_rupees_keep_every_place_they_are_given_and_at_least_paise():
    assert rupees(Decimal("0.000012"), exact=True) == "₹0.000012"
    assert rupees(Decimal("6.5"), exact=True) == "₹6.50"
    assert rupees(Decimal("2592000"), exact=True) == "₹25,92,000.00"
    assert rupees(Decimal("0"), exact=True) == "₹0.00"


def test_the_html_carries_the_exact_amount_and_the_sub_paise_apart():
    assert money_html("14.004438") == (
        '<data class="money" value="14.004438" title="₹14.004438">'
        '₹14.00<span class="subpaise">44</span></data>'
    )
    assert money_html("1000.00", "paise") == (
        '<data class="money" value="1000.000000" title="₹1000.000000">₹1,000.00</data>'
    )
    assert money_html("not money") == "not money"


def test_amounts_past_any_field_or_not_numbers_are_written_not_raised():
    """No stored amount is this large, but a figure worked out from a typo must not 500."""
    assert rupees(Decimal("1e30"), exact=True).replace(",", "") == "₹1" + "0" * 30 + ".00"
    assert money_parts(Decimal("1e22"))[0] == "₹10" + ",00" * 9 + ",000.00"
    assert rupees(Decimal("NaN")) == "NaN"
    assert money_parts(Decimal("Infinity"))[0] == "Infinity"


def test_the_hover_is_signed_as_the_figure_is():
    assert 'title="-₹12.345678">-₹12.34<' in money_html("-12.345678", "paise")
