from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import timezone

from celc.admin import ReadOnlyAdmin
from payouts.models import AccrualRun, LedgerEntry, Policy
from payouts.presets import PRESETS


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    """Board staff add versions; a version already in force is never rewritten."""

    list_display = (
        "name",
        "kind",
        "effective_from",
        "multiplier",
        "escalation",
        "grace_seconds",
        "cap_per_outage",
        "cap_per_month",
        "max_gap_seconds",
        "in_force",
    )
    list_filter = ("kind",)
    readonly_fields = ("created_at", "created_by")
    fieldsets = [
        (None, {"fields": ["name", "kind", "effective_from", "note"]}),
        ("Compounding", {"fields": ["multiplier", "escalation"]}),
        ("Tiers", {"fields": ["tiers"]}),
        ("Both", {"fields": ["grace_seconds", "cap_per_outage", "cap_per_month"]}),
        ("Evidence rules", {"fields": ["max_gap_seconds", "silence_timeout_seconds"]}),
        ("Record", {"fields": ["created_at", "created_by"]}),
    ]
    change_list_template = "admin/payouts/policy/change_list.html"

    @admin.display(boolean=True, description="in force now")
    def in_force(self, policy):
        current = Policy.objects.filter(effective_from__lte=timezone.now()).first()
        return current is not None and current.pk == policy.pk

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        preset = PRESETS.get(request.GET.get("preset", ""))
        if preset:
            initial.update({k: v for k, v in preset.items()})
        initial.setdefault("effective_from", timezone.now() + timezone.timedelta(hours=1))
        return initial

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.now():
            return False  # in force or past: what was posted under it stays as it was
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.now():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if obj.effective_from < timezone.now() - timezone.timedelta(minutes=1):
            raise ValidationError("A new version cannot start in the past.")
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class StartsNow(form):
            def clean_effective_from(self):
                value = self.cleaned_data["effective_from"]
                if value < timezone.now() - timezone.timedelta(minutes=1):
                    raise ValidationError(
                        "A version applies forward only: give a time from now on."
                    )
                return value

        return StartsNow


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Entries come from the accrual, payouts and reviewed adjustments; never edited."""

    list_display = ("created_at", "household", "kind", "amount", "outage", "accrual_seq", "note")
    list_filter = ("kind", "created_at")
    search_fields = ("household__username", "note")
    list_select_related = ("household",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger is large: no COUNT(*) per page


@admin.register(AccrualRun)
class AccrualRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "outages",
        "posted_entries",
        "posted_amount",
        "households",
        "duration_ms",
    )
    show_full_result_count = False
