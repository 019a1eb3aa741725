"""Payout destinations as plain values: what each method needs, how they read, and how the
old free-text accounts were converted (accounts/migrations/0004)."""

import importlib

import pytest

from payouts.destinations import Destination, reference_problem

conversion = importlib.import_module("accounts.migrations.0004_payout_destination")


def test_it_needs_a_method_first():
    assert Destination().problems() == {
        "method": "Choose how you are paid: UPI, bank transfer, "
        "or a credit on your electricity bill."
    }
    assert Destination().label() == "" and Destination().unusable_because() == (
        "no payout destination"
    )


@pytest.mark.parametrize(
    ("destination", "label"),
    [
        (Destination("upi", upi_id="alice@okbank"), "UPI to alice@okbank"),
        (Destination("upi", upi_id="a.rao-1_x@ybl"), "UPI to a.rao-1_x@ybl"),
        (
            Destination(
                "bank", bank_account="123456784321", ifsc="HDFC0001234", account_holder="A Rao"
            ),
            "Bank transfer to account ending 4321 (HDFC0001234)",
        ),
        (
            Destination("bill", consumer_number="0123456789"),
            "Credit on the electricity bill of consumer 0123456789",
        ),
        # Another method's fields do not count, and are not kept.
        (Destination("bill", consumer_number="0123456789", upi_id="x"), None),
    ],
)
def test_a_ready_destination_reads_as_where_the_money_goes(destination, label):
    assert destination.ready()
    if label:
        assert destination.label() == label
    assert destination.normalised().upi_id == (destination.upi_id if label else "")


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        (Destination("upi", upi_id="alice"), "upi_id"),
        (Destination("upi", upi_id="@okbank"), "upi_id"),
        (Destination("upi", upi_id="alice@ok.bank"), "upi_id"),
        (
            Destination("bank", bank_account="1234567", ifsc="HDFC0001234", account_holder="A"),
            "bank_account",
        ),
        (
            Destination("bank", bank_account="123456789", ifsc="HDF0001234", account_holder="A"),
            "ifsc",
        ),
        (
            Destination("bank", bank_account="123456789", ifsc="HDFC0001234", account_holder="42"),
            "account_holder",
        ),
        (Destination("bill", consumer_number="12 34"), "consumer_number"),
        (Destination("bill", consumer_number="0123456789012345678901"), "consumer_number"),
    ],
)
def test_a_malformed_field_is_named(destination, field):
    assert list(destination.problems()) == [field]
    assert not destination.ready() and destination.label() == ""
    assert destination.unusable_because().startswith("no usable payout destination (")


def test_the_full_account_number_is_in_the_details_not_the_label():
    bank = Destination(
        "bank", bank_account="123456784321", ifsc="HDFC0001234", account_holder="Alice Rao"
    )

    assert "123456784321" not in bank.label()
    assert bank.details() == (
        "Bank transfer to account 123456784321, IFSC HDFC0001234, account holder Alice Rao"
    )


@pytest.mark.parametrize(
    ("method", "reference", "fits"),
    [
        ("upi", "412345678901", True),
        ("upi", "41234567890a", False),
        ("bank", "SBIN123456789012", True),
        ("bank", "SBIN-1234567890", False),
        ("bill", "CR/2026/11-0042", True),
        ("bill", "412345678901", False),
        ("bill", "4123456789012", True),  # 13 digits: not a UPI reference
        ("bill", "x" * 41, False),
        ("", "412345678901", False),
    ],
)
def test_a_reference_fits_its_method(method, reference, fits):
    assert (reference_problem(method, reference) == "") is fits


@pytest.mark.parametrize(
    ("method", "text", "kept"),
    [
        ("upi", " Alice@OKBank ", {"payout_method": "upi", "payout_upi_id": "alice@okbank"}),
        ("upi", "pay me: alice@okbank.", {"payout_method": "upi", "payout_upi_id": "alice@okbank"}),
        ("upi", "9876543210", {}),
        (
            "bank",
            "A/c 1234 5678 4321, IFSC hdfc0001234",
            {
                "payout_method": "bank",
                "payout_bank_account": "123456784321",
                "payout_ifsc": "HDFC0001234",
            },
        ),
        (
            "bank",
            "SBIN0004567",
            {"payout_method": "bank", "payout_bank_account": "", "payout_ifsc": "SBIN0004567"},
        ),
        ("bank", "ask my son", {}),
        ("bill", "", {}),  # the old default: bill credit to nobody
        ("bill", "01-2345-6789", {"payout_method": "bill", "payout_consumer_number": "0123456789"}),
        ("bill", "the one on the bill", {}),
    ],
)
def test_the_migration_keeps_what_it_can_read_of_the_old_free_text(method, text, kept):
    assert conversion.parsed(method, text) == kept
