from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from celc.admin import ReadOnlyAdmin
from devices.models import Area
from payouts import payments
from payouts.models import (
    TRANSITIONS,
    AccrualRun,
    LedgerEntry,
    Payout,
    PayoutState,
    PayoutTransition,
    Policy,
)
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
        (
            "Evidence rules",
            {"fields": ["max_gap_seconds", "silence_timeout_seconds", "corroboration_devices"]},
        ),
        ("Planned cuts and exemptions", {"fields": ["planned_unpaid_hours", "exemptions_pay"]}),
        (
            "Corroboration: how outages pay",
            {
                "fields": [
                    "corroborated_outages",
                    "uncorroborated_outages",
                    "contradicted_outages",
                ]
            },
        ),
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


class AreaFilter(admin.SimpleListFilter):
    title = "area"
    parameter_name = "area"

    def lookups(self, request, model_admin):
        return [(a.pk, a.code) for a in Area.objects.order_by("code")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(household__devices__area_id=self.value()).distinct()
        return queryset


STEPS = {
    # URL name of the step -> (target state, what the note is, whether it is required)
    "approve": (PayoutState.APPROVED, "", False),
    "reject": (PayoutState.REJECTED, "Reason (the household sees it)", True),
    "pay": (PayoutState.PAID, "Payment reference (bank, UPI or bill credit)", True),
}


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    """Board staff review payouts: approve, reject with a reason, mark paid with a reference.

    Payouts are made by the daily task, never added, edited or deleted here;
    every step goes through a confirmation page and `payouts.payments.transition`.
    """

    list_display = ("id", "household", "amount", "state", "period", "created_at", "areas")
    list_filter = ("state", AreaFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = (
        "household__username",
        "household__email",
        "household__first_name",
        "household__last_name",
    )
    list_select_related = ("household",)
    date_hierarchy = "created_at"
    actions = ["approve_selected", "reject_selected", "mark_selected_paid", "export_selected"]
    change_form_template = "admin/payouts/payout/change_form.html"
    change_list_template = "admin/payouts/payout/change_list.html"
    readonly_fields = [f.name for f in Payout._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # fields never change by hand; steps are actions

    def has_review_permission(self, request):
        return request.user.has_perm("payouts.review_payout")

    @admin.display(description="areas")
    def areas(self, payout):
        return ", ".join(sorted({d.area.code for d in payout.household.devices.all()}))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("household__devices__area")

    # Totals of the filtered list.
    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            totals = changelist.queryset.order_by().aggregate(
                count=Count("id"), amount=Sum("amount")
            )
            # Quantized: SQLite sums decimals in floating point.
            totals["amount"] = (totals["amount"] or Decimal(0)).quantize(Decimal("0.01"))
            response.context_data["totals"] = totals
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        payout = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if payout is not None:
            extra["evidence"] = payments.evidence(payout)
            extra["steps"] = (
                [
                    (name, to.label)
                    for name, (to, _, _) in STEPS.items()
                    if to in TRANSITIONS[PayoutState(payout.state)]
                ]
                if self.has_review_permission(request)
                else []
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        urls = super().get_urls()
        review = self.admin_site.admin_view(self.review_view)
        return [path("review/<str:step>/", review, name="payouts_payout_review"), *urls]

    # Bulk actions go to the same confirmation page as a single payout's buttons.
    def _to_review(self, queryset, step):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:payouts_payout_review', args=[step])}?ids={ids}")

    @admin.action(description="Approve selected payouts…", permissions=["review"])
    def approve_selected(self, request, queryset):
        return self._to_review(queryset, "approve")

    @admin.action(description="Reject selected payouts…", permissions=["review"])
    def reject_selected(self, request, queryset):
        return self._to_review(queryset, "reject")

    @admin.action(description="Mark selected payouts paid…", permissions=["review"])
    def mark_selected_paid(self, request, queryset):
        return self._to_review(queryset, "pay")

    @admin.action(description="Export selected approved payouts as CSV", permissions=["view"])
    def export_selected(self, request, queryset):
        try:
            content = payments.export_csv(queryset)
        except payments.PayoutError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="payouts-approved-{stamp}.csv"'
        return response

    def review_view(self, request, step):
        if step not in STEPS:
            raise Http404("No such step")
        if not self.has_review_permission(request):
            raise PermissionDenied
        to, note_label, note_required = STEPS[step]
        try:
            ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk]
        except ValueError:
            raise Http404("Bad payout ids") from None
        payouts = list(Payout.objects.filter(pk__in=ids).select_related("household"))
        if not payouts:
            raise Http404("No payout selected")
        error = ""
        if request.method == "POST":
            note = request.POST.get("note", "").strip()
            if note_required and not note:
                error = f"{note_label} is required."
            else:
                done, refused = 0, []
                for payout in payouts:
                    try:
                        payments.transition(payout.pk, to, request.user, note)
                        done += 1
                    except payments.PayoutError as problem:
                        refused.append(str(problem))
                if done:
                    self.message_user(request, f"{done} payout(s) {payments.verb(to)}.")
                for problem in refused:
                    self.message_user(request, problem, messages.WARNING)
                if len(payouts) == 1:
                    return redirect("admin:payouts_payout_change", payouts[0].pk)
                return redirect("admin:payouts_payout_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{to.label}: confirm",
            "step": step,
            "target": to,
            "payouts": payouts,
            "movable": [p for p in payouts if to in TRANSITIONS[PayoutState(p.state)]],
            "note_label": note_label,
            "note_required": note_required,
            "error": error,
            "total": sum((p.amount for p in payouts), Decimal(0)),
        }
        return TemplateResponse(request, "admin/payouts/payout/review.html", context)


@admin.register(PayoutTransition)
class PayoutTransitionAdmin(ReadOnlyAdmin):
    list_display = ("at", "payout", "from_state", "to_state", "by", "note")
    list_filter = ("to_state",)
    list_select_related = ("payout", "by")
