"""What was told, to whom, by which channel and how it went: read-only for staff.

Preferences are not here: a webhook's secret is the household's alone.
"""

from django.contrib import admin

from alerts.models import AlertEvent, Delivery
from common.admin import ReadOnlyAdmin


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("recipient", "channel", "address", "state", "attempts", "sent_at", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    list_display = ("happened_at", "kind", "household", "device", "area", "payout", "found_at")
    list_filter = ("kind",)
    search_fields = ("key", "household__username")
    date_hierarchy = "happened_at"
    list_select_related = ("household", "device", "area", "payout")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event", "recipient", "channel", "address", "state", "attempts", "sent_at")
    list_filter = ("state", "channel", "event__kind")
    search_fields = ("recipient__username", "address")
    list_select_related = ("event", "recipient")
