from django.contrib.auth.models import AbstractUser
from django.db import models


class PayoutMethod(models.TextChoices):
    UPI = "upi", "UPI"
    BANK = "bank", "Bank transfer"
    BILL = "bill", "Credit on the electricity bill"


class User(AbstractUser):
    """A household: whoever signs in owns devices and is paid for their cuts.

    Any user, however created, is a working household with a zero balance;
    staff accounts are households too but have no devices unless given some.
    """

    payout_method = models.CharField(
        max_length=8, choices=PayoutMethod.choices, default=PayoutMethod.BILL
    )
    payout_account = models.CharField(
        max_length=100,
        blank=True,
        help_text="UPI ID, bank account number and IFSC, or electricity consumer number",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = "household"
        verbose_name_plural = "households"
        swappable = "AUTH_USER_MODEL"
