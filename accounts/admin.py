from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.html import format_html

from accounts.models import BrowserSignInFailures, User
from common.admin import SuperusersOnly


@admin.register(User)
class HouseholdAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_staff",
        "date_joined",
        "payout_destination",
    )
    # Only the household sets where its money goes (/accounts/payout-details/).
    readonly_fields = ("payout_destination",)
    fieldsets = (*UserAdmin.fieldsets, ("Payouts", {"fields": ("payout_destination",)}))

    @admin.display(description="payout destination")
    def payout_destination(self, household):
        destination = household.payout_destination()
        if destination.ready():
            return destination.label()
        return format_html(
            '<span class="no-destination">None: {}</span>', destination.unusable_because()
        )


@admin.register(BrowserSignInFailures)
class BrowserSignInFailuresAdmin(SuperusersOnly, admin.ModelAdmin):
    """Beside django-axes' records, for superusers alone: deleting a row unlocks that browser."""

    list_display = ("username", "failures", "last_failure_at")
    search_fields = ("username",)
    readonly_fields = ("browser", "username", "failures", "last_failure_at")

    def has_add_permission(self, request, obj=None):
        return False
