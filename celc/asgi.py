"""ASGI entry point, served by daphne: HTTP through Django, WebSockets through Channels."""

import atexit
import gc
import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
# The web server borrows PostgreSQL connections from a pool (see settings).
os.environ.setdefault("CELC_DB_POOL", "1")
django_asgi_app = get_asgi_application()

from celc import daphne_close_codes, daphne_limits, ops, proxy  # noqa: E402
from celc.routing import websocket_application  # noqa: E402  (needs Django set up first)

daphne_close_codes.install()  # the device protocol's 1009 must reach the device
daphne_limits.install()  # 64 KiB messages, refused before they are read whole
proxy.install()  # --proxy-headers: the last hop of X-Forwarded-For, not the client's own

application = ProtocolTypeRouter(
    {"http": ops.with_ops_endpoints(django_asgi_app), "websocket": websocket_application}
)
# This process's open-socket gauges leave /metrics with it (a crash: celc/ops.py).
if (_metrics_dir := ops.multiprocess_dir()) is not None:
    atexit.register(ops.multiprocess.mark_process_dead, os.getpid(), str(_metrics_dir))

# Thousands of long-lived connections make full garbage collections long
# (measured in docs/performance.md), and back to back once a backlog forms.
# Keep what start-up built out of the collector and collect young objects
# less often.
gc.freeze()
gc.set_threshold(*(int(n) for n in os.environ.get("CELC_GC_THRESHOLD", "50000,20,100").split(",")))
