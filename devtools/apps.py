from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development tooling: demo data, the simulated fleet's command, the local stack
    (`make run`) and the test harness. Nothing of the product imports it."""

    name = "devtools"
    verbose_name = "Development tools"
