import hashlib
import json

from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from common.admin import ReadOnlyAdmin
from devices import services, tokens
from devices.models import Area, Device, Outage, PlannedCut, WitnessedInterval


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "device_count")
    search_fields = ("code", "name")

    @admin.display(description=gettext_lazy("devices"))
    def device_count(self, area):
        return area.devices.count()


@admin.register(PlannedCut)
class PlannedCutAdmin(admin.ModelAdmin):
    """Board staff announce planned cuts and exemptions; once started, they stand as announced."""

    list_display = (
        "area",
        "kind",
        "starts_at",
        "ends_at",
        "reason",
        "announced_by",
        "announced_at",
    )
    list_filter = ("kind", "area")
    search_fields = ("area__code", "area__name", "reason")
    readonly_fields = ("announced_at", "announced_by")
    fields = ("area", "kind", "starts_at", "ends_at", "reason", "announced_at", "announced_by")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("starts_at", timezone.now() + timezone.timedelta(hours=1))
        return initial

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.started:
            return False  # applies forward only: what was paid under it stays as it was
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.started:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.announced_by = request.user
        super().save_model(request, obj, form, change)


class PowerStateFilter(admin.SimpleListFilter):
    """What a device is doing now: the stored power state plus heartbeat freshness."""

    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("off", _("Power off")),
            ("on", _("Power on")),
            ("offline", _("Offline (missed heartbeats)")),
            ("unknown", _("Never heard from")),
            ("revoked", _("Revoked")),
        ]

    def queryset(self, request, queryset):
        from datetime import timedelta

        from django.conf import settings

        limit = timezone.now() - timedelta(
            seconds=settings.DEVICE_HEARTBEAT_SECONDS * settings.DEVICE_MISSED_HEARTBEATS
        )
        live = queryset.filter(revoked_at__isnull=True)
        match self.value():
            case "off":
                return live.filter(power_state="off")
            case "on":
                return live.filter(power_state="on", last_seen_at__gte=limit)
            case "offline":
                return live.filter(power_state="on", last_seen_at__lt=limit)
            case "unknown":
                return live.filter(last_seen_at__isnull=True)
            case "revoked":
                return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "household",
        "area",
        "state",
        "last_seen_at",
        "token_prefix",
        "revoked_at",
    )
    list_filter = (PowerStateFilter, "area", ("household", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("household", "area")
    search_fields = ("name", "household__username", "area__code", "area__name", "token_prefix")
    readonly_fields = (
        "token_prefix",
        "registered_at",
        "revoked_at",
        "last_seen_at",
        "last_seq",
        "power_state",
        "last_tick_at",
        "current_outage",
    )
    autocomplete_fields = ("household", "area")
    actions = ["regenerate_tokens", "revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A device's household and area are what its outages were paid to and corroborated
        # by: changing them would move its history. Moving a sensor is a new registration.
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else ("household", "area", *fields)

    @admin.display(description=gettext_lazy("state"))
    def state(self, device):
        state = "revoked" if device.is_revoked else device.connection_state()
        return STATE_WORDS.get(state, state)

    def save_model(self, request, obj, form, change):
        if change and {"monthly_units", "tariff"} & set(form.changed_data):
            # Units and tariff apply from now on, never to time already witnessed.
            services.device_change_supply(
                device=obj, monthly_units=obj.monthly_units, tariff=obj.tariff, by=request.user
            )
        if not change:
            token = tokens.mint_token()
            obj.token_hash = tokens.hash_token(token)
            obj.token_prefix = tokens.visible_prefix(token)
            obj._new_token = token  # shown by response_add, never stored
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self.show_tokens_once(request, [(obj, obj._new_token)], "registered")

    @admin.action(
        description=gettext_lazy("Regenerate the token of the selected devices"),
        permissions=["change"],
    )
    def regenerate_tokens(self, request, queryset):
        live = [device for device in queryset if not device.is_revoked]
        if not live:
            self.message_user(request, _("Revoked devices keep no token."), messages.WARNING)
            return None
        if len(live) > TOKENS_PER_PAGE:
            self.message_user(
                request,
                _("Regenerate at most %(count)d tokens at a time: nothing was changed.")
                % {"count": TOKENS_PER_PAGE},
                messages.ERROR,
            )
            return None
        minted = [(device, services.device_regenerate_token(device=device)) for device in live]
        return self.show_tokens_once(request, minted, "given a new token")

    @admin.action(description=gettext_lazy("Revoke the selected devices"), permissions=["change"])
    def revoke(self, request, queryset):
        live = list(queryset.filter(revoked_at__isnull=True).select_related("household", "area"))
        if not live:
            self.message_user(
                request, _("The selected devices are revoked already."), messages.INFO
            )
            return None
        if request.POST.get("confirmed") != "yes":
            # Revoking cannot be undone: say what it does and ask first.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Revoke: confirm"),
                "devices": live,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/devices/device/revoke.html", context)
        for device in live:
            services.device_revoke(device=device)
        self.message_user(
            request,
            ngettext(
                "Revoked %(count)d device(s): nothing more is stored under their tokens, and "
                "their connections close within about a second.",
                "Revoked %(count)d device(s): nothing more is stored under their tokens, and "
                "their connections close within about a second.",
                len(live),
            )
            % {"count": len(live)},
            messages.SUCCESS,
        )

    def get_urls(self):
        tokens = self.admin_site.admin_view(self.token_view)
        return [path("token/", tokens, name="devices_device_token"), *super().get_urls()]

    def show_tokens_once(self, request, minted, what):
        """Redirect to the token page, the new tokens riding along in a signed cookie.

        The response to the POST is a redirect, so reloading the page that shows a
        token repeats nothing; the cookie is sent only to the token page, which
        deletes it as it shows the tokens: a reload (or the back button) finds
        nothing to show. Nothing on the server keeps a token, only its hash.
        """
        url = reverse("admin:devices_device_token")
        response = redirect(url)
        payload = {
            "what": what,
            "minted": [[device.pk, token] for device, token in minted],
            "for": _reader(request),
        }
        # A session cookie (never written to disk by the browser); the signature expires.
        response.set_signed_cookie(
            TOKEN_COOKIE,
            json.dumps(payload),
            salt=TOKEN_COOKIE,
            path=url,
            secure=request.is_secure(),
            httponly=True,
            samesite="Strict",
        )
        return response

    def token_view(self, request):
        """The only place a token is ever shown: once, from the cookie, which it deletes."""
        url = reverse("admin:devices_device_token")
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            payload = json.loads(
                request.get_signed_cookie(
                    TOKEN_COOKIE, salt=TOKEN_COOKIE, max_age=TOKEN_COOKIE_SECONDS
                )
            )
            minted_pairs = [(int(pk), str(token)) for pk, token in payload["minted"]]
            what = str(payload["what"])
            if payload["for"] != _reader(request):
                raise ValueError("made for another session")
        except (KeyError, TypeError, signing.BadSignature, ValueError):
            payload, minted_pairs, what = None, [], ""
        minted = []
        if payload is not None:
            devices = Device.objects.select_related("household", "area").in_bulk(
                [pk for pk, _token in minted_pairs]
            )
            minted = [(devices[pk], token) for pk, token in minted_pairs if pk in devices]
        scheme = "wss" if request.is_secure() else "ws"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "minted": minted,
            "what": what,
            "device_url": f"{scheme}://{request.get_host()}/ws/device/",
            "title": _("Copy the device token now") if minted else _("The token was shown once"),
        }
        response = TemplateResponse(request, "admin/devices/device/token.html", context)
        response["Cache-Control"] = "no-store"
        response.delete_cookie(TOKEN_COOKIE, path=url, samesite="Strict")
        return response


def _reader(request) -> str:
    """Who may read a token cookie: this user in this session (a digest, not the key)."""
    session = request.session.session_key or ""
    return hashlib.sha256(f"{request.user.pk}:{session}".encode()).hexdigest()


# New tokens travel from the POST that made them to the page that shows them in this
# cookie (signed, bound to the user's session, sent only to that page, deleted there).
TOKEN_COOKIE = "celc_new_tokens"  # noqa: S105 (a cookie name)
TOKEN_COOKIE_SECONDS = 300
TOKENS_PER_PAGE = 40  # a cookie holds about 4 KB


# What the device list's state column says of each state (connection_state's words).
STATE_WORDS = {
    "on": pgettext_lazy("device state", "on"),
    "off": pgettext_lazy("device state", "off"),
    # Translators: a device state: on, but its heartbeats stopped.
    "offline": pgettext_lazy("device state", "offline"),
    # Translators: a device state: reported power off, then silent past the silence timeout.
    "lost": pgettext_lazy("device state", "lost"),
    # Translators: a device state: never heard from.
    "unknown": pgettext_lazy("device state", "unknown"),
    "revoked": pgettext_lazy("device state", "revoked"),
}


class WitnessedIntervalInline(admin.TabularInline):
    model = WitnessedInterval
    extra = 0
    can_delete = False
    fields = ("started_at", "ended_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Outage)
class OutageAdmin(ReadOnlyAdmin):
    """Outages come from ticks only."""

    list_display = (
        "device",
        "household",
        "area",
        "status",
        "started_at",
        "ended_at",
        "witnessed_seconds",
        "ticks_received",
        "gaps",
    )
    list_filter = ("status", "device__area", "started_at")
    list_select_related = ("device__household", "device__area")
    search_fields = ("device__name", "device__household__username", "device__area__code")
    date_hierarchy = "started_at"
    inlines = [WitnessedIntervalInline]

    @admin.display(ordering="device__household__username")
    def household(self, outage):
        return outage.device.household

    @admin.display(ordering="device__area__code")
    def area(self, outage):
        return outage.device.area.code
