from django.apps import AppConfig
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

# Set only by the test harness, to empty tables between tests (see migration 0003).
purge_allowed = False


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "celc_ledger_purge_allowed", 0, lambda: int(purge_allowed), deterministic=False
        )


def _install_ledger_triggers(sender, using="default", **kwargs):
    from payouts import ledger_triggers

    ledger_triggers.install(connections[using])


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = _("Compensation and payouts")

    def ready(self):
        connection_created.connect(_register_sqlite_functions)
        post_migrate.connect(_install_ledger_triggers, sender=self)
