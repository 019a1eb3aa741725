from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CelcConfig(AppConfig):
    """The project itself: database set-up every app relies on, and the admin's own rules."""

    name = "celc"
    verbose_name = "Central Electric"

    def ready(self):
        import celc.lookups  # noqa: F401  (registers field__any and bounded lookups)
        from common.db import use_fast_loaders

        connection_created.connect(use_fast_loaders, dispatch_uid="common.db.use_fast_loaders")

        # The admin's modules are loaded by now (django.contrib.admin is ready first).
        from django.contrib import admin

        from common.admin import check_dates_everywhere, superusers_only

        superusers_only(admin.site, "axes")
        check_dates_everywhere(admin.site)

        # /healthz's "beat's last run": beat records each task it sends.
        from celery.signals import after_task_publish, beat_init

        from celc.health import record_beat_sent, watch_beat

        beat_init.connect(watch_beat, dispatch_uid="celc.health.watch_beat")
        after_task_publish.connect(record_beat_sent, dispatch_uid="celc.health.record_beat_sent")
