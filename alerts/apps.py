from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    """Messages to people when something happened: households by email and webhook, board
    staff by email. Events are found by a periodic scan of the other apps' data."""

    name = "alerts"
    verbose_name = _("Alerts")
