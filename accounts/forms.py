from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class PayoutDetailsForm(forms.ModelForm):
    """Where a household's payouts go: UPI, a bank account, or a credit on its bill."""

    class Meta:
        model = User
        fields = ("payout_method", "payout_account")
        labels = {"payout_method": "Pay me by", "payout_account": "Account"}

    def clean_payout_account(self):
        account = " ".join(self.cleaned_data["payout_account"].split())
        method = self.cleaned_data.get("payout_method")
        if method in ("upi", "bank") and not account:
            raise forms.ValidationError("Give the UPI ID or the bank account and IFSC to pay.")
        if method == "upi" and "@" not in account:
            raise forms.ValidationError("A UPI ID looks like name@bank.")
        return account
