from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from payouts.destinations import Destination, PayoutMethod

__all__ = ["PayoutMethod", "User"]


class User(AbstractUser):
    """A household: whoever signs in owns devices and is paid for their cuts.

    Any user, however created, is a working household with a zero balance;
    staff accounts are households too but have no devices unless given some.
    Where its payouts go (`payout_*`) is unset until the household says:
    a payout cannot be approved before (payouts/destinations.py).
    """

    # The language its pages speak wherever it signs in ("" until it chooses: the browser's).
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True, default="")
    payout_method = models.CharField(
        max_length=8, choices=PayoutMethod.choices, blank=True, default=""
    )
    payout_upi_id = models.CharField(_("UPI ID"), max_length=255, blank=True, default="")
    payout_bank_account = models.CharField(
        _("bank account number"), max_length=18, blank=True, default=""
    )
    payout_ifsc = models.CharField(_("IFSC"), max_length=11, blank=True, default="")
    payout_account_holder = models.CharField(
        _("account holder"), max_length=100, blank=True, default=""
    )
    payout_consumer_number = models.CharField(
        _("electricity consumer number"), max_length=20, blank=True, default=""
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("household")
        verbose_name_plural = _("households")
        swappable = "AUTH_USER_MODEL"

    def payout_destination(self) -> Destination:
        return Destination(
            method=self.payout_method,
            upi_id=self.payout_upi_id,
            bank_account=self.payout_bank_account,
            ifsc=self.payout_ifsc,
            account_holder=self.payout_account_holder,
            consumer_number=self.payout_consumer_number,
        )

    def payout_destination_ready(self) -> bool:
        """Whether a payout can go out: a method chosen and everything it needs, well formed."""
        return self.payout_destination().ready()

    def payout_destination_label(self) -> str:
        """E.g. "UPI to alice@okbank"; "" when no usable destination is set."""
        return self.payout_destination().label()


class BrowserSignInFailures(models.Model):
    """Failed sign-ins from a browser that has signed in before, counted apart from anonymous
    ones (its device cookie: accounts/lockout.py). A row lives only while it has recent
    failures: a success deletes it, and old ones are cleared as new failures come."""

    browser = models.CharField(max_length=64, unique=True)  # the device cookie's random key
    username = models.CharField(max_length=150)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name_plural = _("browser sign-in failures")

    def __str__(self) -> str:
        return gettext("%(failures)s failed sign-ins as %(username)s from one browser") % {
            "failures": self.failures,
            "username": self.username,
        }
