"""Where a household's payouts go, and what a payment there is called: plain values per method.

- A destination is a method (UPI, bank transfer, credit on the electricity
  bill) and what a bank or a billing system needs for it: a UPI ID; an
  account number, IFSC and account holder; an electricity consumer number.
- `Destination.problems()` says what is missing or malformed, field by
  field, in words for the household; a destination without problems is
  `ready()`, and only a ready one has a `label()`.
- `reference_problem()` checks a payment's reference against the method it
  went by: a UPI payment has a 12-digit UPI reference (RRN), a bank transfer
  a UTR, a bill credit the billing system's credit reference.

The household's form, the User model, the payout's snapshot, the review in
the admin and the CSV export all read these; nothing here touches the database.
An approval is of the destination's `fingerprint()`: every field, not its label.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SET_IT_AT = "/accounts/payout-details/"


class PayoutMethod(models.TextChoices):
    UPI = "upi", gettext_lazy("UPI")
    BANK = "bank", gettext_lazy("Bank transfer")
    # Translators: paid as a credit against the household's next electricity bill.
    BILL = "bill", gettext_lazy("Credit on the electricity bill")


# NPCI: a handle of letters, digits, dots, hyphens or underscores, "@", the PSP's handle.
UPI_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}@[a-z][a-z0-9]{1,63}$")
BANK_ACCOUNT = re.compile(r"^[0-9]{9,18}$")
IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
# Discoms number their consumers differently (digits mostly, some letters); the
# separators printed on bills are dropped.
CONSUMER_NUMBER = re.compile(r"^(?=.*[0-9])[A-Z0-9]{6,20}$")
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Destination:
    """A payout destination as the household gave it (or as a payout was approved to)."""

    method: str = ""
    upi_id: str = ""
    bank_account: str = ""
    ifsc: str = ""
    account_holder: str = ""
    consumer_number: str = ""

    # Which fields each method uses; the others stay empty.
    FIELDS = {
        PayoutMethod.UPI: ("upi_id",),
        PayoutMethod.BANK: ("bank_account", "ifsc", "account_holder"),
        PayoutMethod.BILL: ("consumer_number",),
    }

    def normalised(self) -> Destination:
        """As a bank or billing system writes them; the other methods' fields dropped."""
        used = self.FIELDS.get(self.method, ())
        return Destination(
            method=self.method if self.method in self.FIELDS else "",
            upi_id="".join(self.upi_id.split()).lower() if "upi_id" in used else "",
            bank_account="".join(self.bank_account.split()) if "bank_account" in used else "",
            ifsc="".join(self.ifsc.split()).upper() if "ifsc" in used else "",
            account_holder=" ".join(self.account_holder.split())
            if "account_holder" in used
            else "",
            consumer_number=re.sub(r"[\s/-]", "", self.consumer_number).upper()
            if "consumer_number" in used
            else "",
        )

    def problems(self) -> dict[str, str]:
        """What stops a payment going out, by field ("method" when none is chosen)."""
        d = self.normalised()
        if not d.method:
            return {
                "method": _(
                    "Choose how you are paid: UPI, bank transfer, "
                    "or a credit on your electricity bill."
                )
            }
        out = {}
        if d.method == PayoutMethod.UPI:
            if not d.upi_id:
                out["upi_id"] = _("Give your UPI ID, for example name@okbank.")
            elif not UPI_ID.match(d.upi_id):
                out["upi_id"] = _(
                    "A UPI ID looks like name@bank: letters, digits, dots, hyphens or "
                    "underscores, then @ and your bank's or app's handle."
                )
        elif d.method == PayoutMethod.BANK:
            if not d.bank_account:
                out["bank_account"] = _("Give the bank account number.")
            elif not BANK_ACCOUNT.match(d.bank_account):
                out["bank_account"] = _("An account number is 9 to 18 digits.")
            if not d.ifsc:
                out["ifsc"] = _("Give the branch's IFSC, printed on your cheque book or passbook.")
            elif not IFSC.match(d.ifsc):
                out["ifsc"] = _(
                    "An IFSC is 11 characters: 4 letters, a zero, then 6 letters or "
                    "digits, for example HDFC0001234."
                )
            if not LETTER.search(d.account_holder):
                out["account_holder"] = _("Give the account holder's name as the bank has it.")
        elif d.method == PayoutMethod.BILL:
            if not d.consumer_number:
                out["consumer_number"] = _("Give the consumer number printed on your bill.")
            elif not CONSUMER_NUMBER.match(d.consumer_number):
                out["consumer_number"] = _(
                    "A consumer number is 6 to 20 letters or digits, at least one of them "
                    "a digit, as printed on your electricity bill."
                )
        return out

    def ready(self) -> bool:
        return not self.problems()

    def label(self) -> str:
        """Where the money goes, in words ("" unless ready)."""
        if not self.ready():
            return ""
        d = self.normalised()
        if d.method == PayoutMethod.UPI:
            # Translators: where a household's payouts go, e.g. "UPI to alice@okbank".
            return _("UPI to %(upi)s") % {"upi": d.upi_id}
        if d.method == PayoutMethod.BANK:
            # Translators: "ending" is followed by the last 4 digits of the account number.
            return _("Bank transfer to account ending %(last_digits)s (%(ifsc)s)") % {
                "last_digits": d.bank_account[-4:],
                "ifsc": d.ifsc,
            }
        return _("Credit on the electricity bill of consumer %(consumer_number)s") % {
            "consumer_number": d.consumer_number
        }

    def details(self) -> str:
        """Everything a reviewer checks, the full account number included ("" unless ready)."""
        if not self.ready():
            return ""
        d = self.normalised()
        if d.method == PayoutMethod.BANK:
            return _(
                "Bank transfer to account %(account)s, IFSC %(ifsc)s, account holder %(holder)s"
            ) % {"account": d.bank_account, "ifsc": d.ifsc, "holder": d.account_holder}
        return d.label()

    def fingerprint(self) -> str:
        """A keyed digest of every field as normalised: what a reviewer was shown, carried
        through a form without writing the account number into it. Two destinations have
        the same fingerprint only if a payment to either goes to the same place."""
        kept = self.normalised().as_dict()
        return salted_hmac(
            "payouts.destinations.fingerprint", json.dumps(kept, sort_keys=True)
        ).hexdigest()

    def unusable_because(self) -> str:
        """Why no payment can go out, in one sentence for a reviewer ("" when ready)."""
        problems = self.problems()
        if not problems:
            return ""
        if "method" in problems:
            # Translators: inside a sentence for the reviewer, "alice has no payout destination".
            return _("no payout destination")
        # Translators: inside a sentence for the reviewer; in parentheses, what is wrong.
        return _("no usable payout destination (%(problems)s)") % {
            "problems": "; ".join(problems.values())
        }

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# Where a household keeps each part of its destination (accounts.User).
HOUSEHOLD_FIELDS = tuple(f"payout_{f.name}" for f in fields(Destination))


@dataclass(frozen=True)
class ReferenceShape:
    name: str  # what the payment's reference is called for this method (lazily translated)
    shape: str  # what it looks like, for the reviewer (lazily translated)
    pattern: re.Pattern


REFERENCES = {
    PayoutMethod.UPI: ReferenceShape(
        # Translators: RRN is the Retrieval Reference Number NPCI gives a UPI payment.
        gettext_lazy("UPI reference (RRN)"),
        gettext_lazy("12 digits, e.g. 412345678901"),
        re.compile(r"^[0-9]{12}$"),
    ),
    PayoutMethod.BANK: ReferenceShape(
        # Translators: the Unique Transaction Reference of a bank transfer (NEFT, RTGS, IMPS).
        gettext_lazy("UTR"),
        gettext_lazy("12 to 22 letters or digits, e.g. HDFCN52026112812345"),
        re.compile(r"^[A-Z0-9]{12,22}$"),
    ),
    PayoutMethod.BILL: ReferenceShape(
        # Translators: the billing system's reference of a credit on an electricity bill.
        gettext_lazy("bill-credit reference"),
        gettext_lazy(
            "4 to 40 letters, digits, - or /, e.g. TNPDCL/CR/2026-118 (not a bare 12-digit "
            "number: that is a UPI reference)"
        ),
        re.compile(r"^[A-Za-z0-9/-]{4,40}$"),
    ),
}

# Each method inside a sentence ("Payout #3 goes by bank transfer: ...").
METHOD_WORDS = {
    PayoutMethod.UPI: gettext_lazy("UPI"),
    # Translators: the payout method inside a sentence, "goes by bank transfer".
    PayoutMethod.BANK: gettext_lazy("bank transfer"),
    # Translators: the payout method inside a sentence, "goes by credit on the electricity bill".
    PayoutMethod.BILL: gettext_lazy("credit on the electricity bill"),
}


def method_words(method: str) -> str:
    """The method inside a sentence: "UPI", "bank transfer", "credit on the electricity bill"."""
    if method not in METHOD_WORDS:
        # Translators: inside a sentence, "Payout #3 goes by no method".
        return _("no method")
    return str(METHOD_WORDS[method])


def expected_reference(method: str) -> str:
    """What the reference of a payment by `method` is and looks like, for the reviewer."""
    expected = REFERENCES.get(method)
    if not expected:
        return ""
    # Translators: e.g. "the UTR: 12 to 22 letters or digits, e.g. HDFCN52026112812345".
    return _("the %(reference)s: %(shape)s") % {"reference": expected.name, "shape": expected.shape}


def normalised_reference(method: str, reference: str) -> str:
    """As it is stored and compared: in capitals, so that a reference typed in another case
    is the same reference (a UTR or a credit reference; a UPI reference is digits)."""
    return reference.strip().upper()


def reference_problem(method: str, reference: str) -> str:
    """Why `reference` cannot be the reference of a payment by `method` ("" when it can)."""
    if method not in REFERENCES:
        return _("no payout destination was recorded when it was approved")
    expected = REFERENCES[method]
    reference = normalised_reference(method, reference)
    fits = bool(expected.pattern.match(reference))
    if method == PayoutMethod.BILL and re.fullmatch(r"[0-9]{12}", reference):
        fits = False
    if fits:
        return ""
    # Translators: why a payment's reference is refused; the first part is e.g. "the UTR:
    # 12 to 22 letters or digits, ...", the quoted one what the reviewer typed.
    return _("its reference is %(expected)s; “%(reference)s” is not one") % {
        "expected": expected_reference(method),
        "reference": reference,
    }
