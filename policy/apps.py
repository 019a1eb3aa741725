from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    """The compensation policy: its versions, the money function and the evidence rules."""

    name = "policy"
    verbose_name = _("Compensation policy")
