from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts import webhooks
from alerts.models import Preferences


class PreferencesForm(forms.ModelForm):
    """Which news, by which channel, and the quiet hours. Bad input is refused whole:
    nothing is stored unless everything is right."""

    webhook_url = forms.CharField(
        label=gettext_lazy("Webhook address"),
        required=False,
        max_length=webhooks.MAX_URL,
        strip=True,
        help_text=gettext_lazy(
            "An https address that receives each message as signed JSON, for example "
            "https://hooks.example.org/power."
        ),
        widget=forms.URLInput(attrs={"autocomplete": "url", "inputmode": "url"}),
    )
    quiet_start = forms.TimeField(
        label=gettext_lazy("Quiet from"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": gettext_lazy("Give a time as HH:MM, for example 22:00.")},
    )
    quiet_end = forms.TimeField(
        label=gettext_lazy("Quiet until"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": gettext_lazy("Give a time as HH:MM, for example 07:00.")},
    )

    class Meta:
        model = Preferences
        fields = (
            "devices",
            "cuts",
            "payouts",
            "areas",
            "by_email",
            "by_webhook",
            "webhook_url",
            "quiet_start",
            "quiet_end",
        )
        labels = {
            "devices": gettext_lazy("A device of mine stops reporting, or starts again"),
            "cuts": gettext_lazy("A power cut ends: what it earned"),
            "payouts": gettext_lazy("A payout is approved, and when it is paid"),
            "areas": gettext_lazy("An area has been out longer than the threshold (board staff)"),
            "by_email": gettext_lazy("By email"),
            "by_webhook": gettext_lazy("By webhook"),
        }

    def __init__(self, *args, household, board_staff: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.household = household
        if not board_staff:
            del self.fields["areas"]

    def kind_fields(self):
        """The news to choose from, as the page lists them."""
        return [
            self[name] for name in ("devices", "cuts", "payouts", "areas") if name in self.fields
        ]

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                webhooks.check(url)
            except webhooks.WebhookRefused as refused:
                raise forms.ValidationError(str(refused)) from None
        return url

    def clean(self):
        data = super().clean()
        if data.get("by_email") and not self.household.email:
            self.add_error(
                "by_email",
                _("Your account has no email address: untick email, or use a webhook."),
            )
        if data.get("by_webhook") and not data.get("webhook_url") and "webhook_url" in data:
            self.add_error("webhook_url", _("Give the webhook's address, or untick webhook."))
        start, end = data.get("quiet_start"), data.get("quiet_end")
        if "quiet_start" in data and "quiet_end" in data:
            if (start is None) != (end is None):
                self.add_error(
                    "quiet_end" if end is None else "quiet_start",
                    _("Give both ends of the quiet hours, or neither."),
                )
            elif start is not None and start == end:
                self.add_error(
                    "quiet_end", _("The quiet hours must end at another time than they start.")
                )
        return data
