from django.apps import AppConfig
from django.db.backends.signals import connection_created

# Set only by the test harness, to empty tables between tests (see migration 0003).
purge_allowed = False


def _register_sqlite_functions(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "celc_ledger_purge_allowed", 0, lambda: int(purge_allowed), deterministic=False
        )


class PayoutsConfig(AppConfig):
    name = "payouts"
    verbose_name = "Compensation and payouts"

    def ready(self):
        import celc.lookups  # noqa: F401  (registers field__any)

        connection_created.connect(_register_sqlite_functions)
