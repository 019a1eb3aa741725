from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from celc.admin import ReadOnlyAdmin
from devices import services, tokens
from devices.models import Area, Device, Outage, PlannedCut, WitnessedInterval


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "device_count")
    search_fields = ("code", "name")

    @admin.display(description="devices")
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

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("off", "Power off"),
            ("on", "Power on"),
            ("offline", "Offline (missed heartbeats)"),
            ("unknown", "Never heard from"),
            ("revoked", "Revoked"),
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
    list_filter = (PowerStateFilter, "area", "household")
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

    @admin.display(description="state")
    def state(self, device):
        return "revoked" if device.is_revoked else device.connection_state()

    def save_model(self, request, obj, form, change):
        if not change:
            token = tokens.mint_token()
            obj.token_hash = tokens.hash_token(token)
            obj.token_prefix = tokens.visible_prefix(token)
            obj._new_token = token  # shown by response_add, never stored
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self.token_page(request, [(obj, obj._new_token)], "registered")

    @admin.action(
        description="Regenerate the token of the selected devices", permissions=["change"]
    )
    def regenerate_tokens(self, request, queryset):
        live = [device for device in queryset if not device.is_revoked]
        if not live:
            self.message_user(request, "Revoked devices keep no token.", messages.WARNING)
            return None
        minted = [(device, services.device_regenerate_token(device=device)) for device in live]
        return self.token_page(request, minted, "given a new token")

    @admin.action(description="Revoke the selected devices", permissions=["change"])
    def revoke(self, request, queryset):
        count = 0
        for device in queryset.filter(revoked_at__isnull=True):
            services.device_revoke(device=device)
            count += 1
        self.message_user(
            request,
            f"Revoked {count} device(s): their connections close within 2 s.",
            messages.SUCCESS,
        )

    def token_page(self, request, minted, what):
        """The only place a token is ever shown: rendered into this response, stored nowhere."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "minted": minted,
            "what": what,
            "title": "Copy the device token now"
            if len(minted) == 1
            else "Copy the device tokens now",
        }
        response = TemplateResponse(request, "admin/devices/device/token.html", context)
        response["Cache-Control"] = "no-store"
        return response


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
