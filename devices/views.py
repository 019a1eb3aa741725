import csv
import io
import threading
import time
from datetime import timedelta

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from common.spreadsheet import safe_cell
from devices import areas, protocol
from devices.ingest import store_ticks
from devices.limits import RATE_BURST, RATE_PER_SECOND, charge_request
from devices.protocol import ProtocolError, TokenBucket
from devices.services import bearer_token, device_for_token

# Per process: the guard at once, and the limit when Redis (the device's own bucket,
# shared with its sockets and every process) cannot be reached.
_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def _allowed(token_hash: str) -> bool:
    now = time.monotonic()
    with _buckets_lock:
        bucket = _buckets.get(token_hash)
        if bucket is None:
            bucket = _buckets[token_hash] = TokenBucket(RATE_PER_SECOND, RATE_BURST, now)
        return bucket.take(now)


def _declares_json(request) -> bool:
    """`Content-Type: application/json`, with no charset or UTF-8's."""
    charset = request.content_params.get("charset", "utf-8").strip('"').lower()
    return request.content_type.lower() == "application/json" and charset in ("utf-8", "utf8")


def _error(status: int, *errors: ProtocolError) -> JsonResponse:
    """`{"error": {"code", "detail"[, "seq"]}}`, and every error under "errors" when several."""
    described = [{k: v for k, v in e.as_frame().items() if k != "type"} for e in errors]
    body = {"error": described[0]}
    if len(described) > 1:
        body["errors"] = described
    return JsonResponse(body, status=status)


@csrf_exempt  # devices authenticate with a bearer token, not a cookie
@require_POST
def device_ticks(request):
    """POST /api/device/ticks: the HTTP fallback of the device protocol, same path as the socket.

    A `batch` body only, declared `application/json`.
    """
    device = device_for_token(bearer_token(request.headers.get("Authorization", "")))
    if device is None:
        return _error(
            401, ProtocolError("unauthorized", "missing, unknown or revoked device token")
        )
    too_large = ProtocolError("too_large", f"body over {protocol.MAX_FRAME_BYTES} bytes")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > protocol.MAX_FRAME_BYTES:
        return _error(413, too_large)
    if not _allowed(device.token_hash) or charge_request(device.token_hash):
        return _error(429, ProtocolError("rate_limited", f"more than {RATE_PER_SECOND} frames/s"))
    if not _declares_json(request):
        return _error(
            400,
            ProtocolError("bad_message", "Content-Type must be application/json (UTF-8)"),
        )
    body = request.body
    if len(body) > protocol.MAX_FRAME_BYTES:
        return _error(413, too_large)
    now = timezone.now()
    parsed = protocol.parse_frame(body, now, not_before=device.registered_at, kinds=("batch",))
    if parsed.errors:
        return _error(400, *parsed.errors)
    acks = store_ticks(
        {device.pk: parsed.ticks}, received_at=now, token_hashes={device.pk: device.token_hash}
    )
    if device.pk not in acks:  # revoked or its token replaced meanwhile
        return _error(401, ProtocolError("unauthorized", "device revoked or its token replaced"))
    return JsonResponse({"ack": acks[device.pk]})


OPEN_DATA_DEFAULT_DAYS = 30
OPEN_DATA_MAX_DAYS = 366


def open_data_outages(request):
    """Public CSV: interruptions per area and day, no household identity (`?from=&to=`)."""

    def refuse(reason: str) -> HttpResponse:
        return HttpResponseBadRequest(reason + "\n", content_type="text/plain; charset=utf-8")

    try:
        to, since = request.GET.get("to"), request.GET.get("from")
        last = areas.parse_day(to) if to else timezone.localdate()
        first = (
            areas.parse_day(since)
            if since
            else max(areas.FIRST_DAY, last - timedelta(days=OPEN_DATA_DEFAULT_DAYS - 1))
        )
    except ValueError:
        return refuse(
            # Translators: "from" and "to" are the address's ?from= and ?to= parameters,
            # YYYY-MM-DD their format: keep them as they are.
            _("from and to are dates as YYYY-MM-DD, from %(first)s to %(last)s.")
            % {"first": areas.FIRST_DAY.isoformat(), "last": areas.LAST_DAY.isoformat()}
        )
    if first > last:
        # Translators: "from" and "to" are the address's ?from= and ?to= parameters.
        return refuse(_("from is after to."))
    if (last - first).days >= OPEN_DATA_MAX_DAYS:
        return refuse(
            ngettext(
                "At most %(days)d day at a time.",
                "At most %(days)d days at a time.",
                OPEN_DATA_MAX_DAYS,
            )
            % {"days": OPEN_DATA_MAX_DAYS}
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(areas.OPEN_DATA_COLUMNS)
    for row in areas.open_data(first, last):
        writer.writerow([safe_cell(str(cell)) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="outages-by-area-{first.isoformat()}-{last.isoformat()}.csv"'
    )
    return response
