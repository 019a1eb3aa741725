"""Policy versions in the admin: added from a preset, previewed, never rewritten once in force."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.money import rupees
from policy.forms import PREVIEW, REFERENCE_HOUSEHOLD, PolicyForm
from policy.models import (
    MAX_GAP_LIMIT_SECONDS,
    MAX_GAP_PAST_SILENCE,
    MAX_GAP_TOO_LONG,
    STARTS_FROM_NOW,
    Policy,
)
from policy.presets import PRESETS


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
    form = PolicyForm
    readonly_fields = ("created_at", "created_by", "tiers_shown")
    fieldsets = [
        (None, {"fields": ["name", "kind", "effective_from", "note"]}),
        (gettext_lazy("Compounding"), {"fields": ["multiplier", "escalation"]}),
        (gettext_lazy("Tiers"), {"fields": ["tiers"]}),
        (
            # Translators: the settings both kinds of policy (compounding, tiers) use.
            gettext_lazy("Both"),
            {"fields": ["grace_seconds", "cap_per_outage", "cap_per_month"]},
        ),
        (
            gettext_lazy("Evidence rules"),
            {"fields": ["max_gap_seconds", "silence_timeout_seconds", "corroboration_households"]},
        ),
        (
            gettext_lazy("Planned cuts and exemptions"),
            {"fields": ["planned_unpaid_hours", "exemptions_pay"]},
        ),
        (
            gettext_lazy("Corroboration: how outages pay"),
            {
                "fields": [
                    "corroborated_outages",
                    "uncorroborated_outages",
                    "contradicted_outages",
                ]
            },
        ),
        (gettext_lazy("Record"), {"fields": ["created_at", "created_by"]}),
    ]
    change_list_template = "admin/policy/policy/change_list.html"
    change_form_template = "admin/policy/policy/change_form.html"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # Shown, not edited: the tiers as a sentence rather than their JSON.
        shown = {"tiers": "tiers_shown"}
        return [
            (name, {**options, "fields": [shown.get(f, f) for f in options["fields"]]})
            for name, options in fieldsets
        ]

    @admin.display(description=gettext_lazy("tiers"))
    def tiers_shown(self, policy):
        tiers = policy.parsed_tiers()
        if not tiers:
            return _("none")
        return "; ".join(
            # Translators: one tier of a policy, e.g. "from hour 3: ₹100.00 an hour".
            _("from hour %(start)s: %(rate)s an hour")
            % {"start": start, "rate": rupees(rate, exact=True)}
            for start, rate in tiers
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["preview"] = context["adminform"].form.preview()  # PolicyForm's
        context["reference_household"] = REFERENCE_HOUSEHOLD
        context["can_preview"] = (
            self.has_add_permission(request) if add else self.has_change_permission(request, obj)
        )
        context["preview_name"] = PREVIEW
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(boolean=True, description=gettext_lazy("in force now"))
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
        # The form checked the start; time has passed since. Saved now, it must still be
        # from now on (changeform_view turns the refusal into a message). And max_gap within
        # its bounds, whatever the form was given to check (the model checks it too).
        if obj.effective_from < timezone.now():
            raise ValidationError(STARTS_FROM_NOW)
        if obj.max_gap_seconds > min(obj.silence_timeout_seconds, MAX_GAP_LIMIT_SECONDS):
            raise ValidationError(f"max_gap: {MAX_GAP_TOO_LONG} {MAX_GAP_PAST_SILENCE}")
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as refused:  # from save_model, after the rollback: nothing saved
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return redirect(request.get_full_path())
