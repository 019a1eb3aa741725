from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CelcConfig(AppConfig):
    """The project itself: database set-up every app relies on."""

    name = "celc"
    verbose_name = "Central Electric"

    def ready(self):
        import celc.lookups  # noqa: F401  (registers field__any)
        from celc.db import use_fast_loaders

        connection_created.connect(use_fast_loaders, dispatch_uid="celc.db.use_fast_loaders")
