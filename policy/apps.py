from django.apps import AppConfig


class PolicyConfig(AppConfig):
    """The compensation policy: its versions, the money function and the evidence rules."""

    name = "policy"
    verbose_name = "Compensation policy"
