import unicodedata

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.lockout import confirm_password
from accounts.models import User
from payouts.destinations import Destination, PayoutMethod


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


# Form field -> Destination field.
DESTINATION_FIELDS = {
    "payout_upi_id": "upi_id",
    "payout_bank_account": "bank_account",
    "payout_ifsc": "ifsc",
    "payout_account_holder": "account_holder",
    "payout_consumer_number": "consumer_number",
}
# Unicode categories refused in destinations: controls, format characters (bidi
# overrides, zero-width joiners), private use and surrogates.
INVISIBLE = {"Cc", "Cf", "Co", "Cs"}
# Typed with spaces or separators, stored without.
RESHAPED = ("payout_upi_id", "payout_bank_account", "payout_ifsc", "payout_consumer_number")


class PayoutDetailsForm(forms.ModelForm):
    """Where a household's payouts go: UPI, a bank account, or a credit on its bill.

    Only the chosen method's fields are kept; they are stored as a bank or a
    billing system writes them (payouts/destinations.py).
    """

    payout_method = forms.ChoiceField(
        # Translators: the label of the choice between UPI, bank transfer and a bill credit.
        label=gettext_lazy("Pay me by"),
        choices=PayoutMethod.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy(
                "Choose how you are paid: UPI, bank transfer, or a credit on your electricity bill."
            )
        },
    )

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("Where your money goes is yours to say: confirm it is you."),
        error_messages={
            "required": gettext_lazy("Give your password to change where your payouts go.")
        },
    )

    class Meta:
        model = User
        fields = ("payout_method", *DESTINATION_FIELDS)
        # The model's verbose names, as the form showed them, in the page's language.
        labels = {
            "payout_upi_id": gettext_lazy("UPI ID"),
            "payout_bank_account": gettext_lazy("Bank account number"),
            # Translators: the Indian Financial System Code of a bank branch.
            "payout_ifsc": gettext_lazy("IFSC"),
            # Translators: the person or people a bank account is in the name of.
            "payout_account_holder": gettext_lazy("Account holder"),
            "payout_consumer_number": gettext_lazy("Electricity consumer number"),
        }
        help_texts = {
            "payout_upi_id": gettext_lazy("For UPI: your UPI ID (VPA), for example name@okbank."),
            "payout_bank_account": gettext_lazy("For a bank transfer: 9 to 18 digits."),
            "payout_ifsc": gettext_lazy(
                "For a bank transfer: 11 characters, for example HDFC0001234."
            ),
            "payout_account_holder": gettext_lazy("For a bank transfer: the name on the account."),
            "payout_consumer_number": gettext_lazy(
                "For a credit on your bill: as printed on the bill."
            ),
        }
        widgets = {
            "payout_upi_id": forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "email"}
            ),
            "payout_bank_account": forms.TextInput(
                attrs={"autocomplete": "off", "inputmode": "numeric"}
            ),
            "payout_ifsc": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            "payout_account_holder": forms.TextInput(attrs={"autocomplete": "name"}),
            "payout_consumer_number": forms.TextInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        # Spaces and separators are dropped before the shape is checked, so the
        # stored length limit applies after that (the shapes keep within it).
        for name in RESHAPED:
            field = self.fields[name]
            field.max_length = None
            field.validators = [
                v for v in field.validators if not isinstance(v, MaxLengthValidator)
            ]
            field.widget.attrs.pop("maxlength", None)

    def clean_password(self):
        # Guesses count as sign-in failures do, and lock the same way (accounts/lockout.py).
        password = self.cleaned_data["password"]
        if not confirm_password(self.request, self.instance, password):
            raise forms.ValidationError(_("That is not your password."))
        return password

    def clean(self):
        cleaned = super().clean()
        for field in DESTINATION_FIELDS:
            if any(unicodedata.category(c) in INVISIBLE for c in cleaned.get(field) or ""):
                # e.g. a right-to-left override, which makes a name read otherwise on screen
                self.add_error(field, _("Remove the invisible control characters."))
                cleaned[field] = ""
        given = Destination(
            method=cleaned.get("payout_method") or "",
            **{ours: cleaned.get(field) or "" for field, ours in DESTINATION_FIELDS.items()},
        )
        if not given.method:
            return cleaned  # the method's own error says it
        for ours, problem in given.problems().items():
            self.add_error(f"payout_{ours}", problem)
        kept = given.normalised()
        for field, ours in DESTINATION_FIELDS.items():
            cleaned[field] = getattr(kept, ours)
        return cleaned

    def save(self, commit=True):
        # Every destination field, sent or not: a field left out of the request must not
        # keep an old value (a ModelForm keeps omitted fields that have a default).
        user = super().save(commit=False)
        user.payout_method = self.cleaned_data["payout_method"]
        for field in DESTINATION_FIELDS:
            setattr(user, field, self.cleaned_data[field])
        if commit:
            user.save(update_fields=["payout_method", *DESTINATION_FIELDS])
        return user


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, with the old password checked as a sign-in attempt (accounts/lockout.py):
    guesses count towards the lockout, and are refused while it lasts."""

    def __init__(self, user, *args, request, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if not confirm_password(self.request, self.user, old_password):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password
