from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, ngettext_lazy

from common.admin import ReadOnlyAdmin
from common.money import money_html, rupees
from devices.models import Area
from payouts import evidence, export, review
from payouts.destinations import REFERENCES, SET_IT_AT, expected_reference, method_words
from payouts.models import (
    TRANSITIONS,
    AccrualRun,
    LedgerEntry,
    Payout,
    PayoutState,
    PayoutTransition,
    RejectionKind,
)


def rupees_html(amount, kind="ledger"):
    """An amount in the site's one money format (common/money.py), `₹` included."""
    return money_html(amount, kind)


def rupees_words(amount) -> str:
    """An exact amount inside a sentence: `₹`, Indian grouping, every decimal it has."""
    return rupees(Decimal(amount), exact=True)


def html_words(message: str, **values) -> str:
    """A translated message holding HTML, its %(named)s values escaped."""
    return mark_safe(message % {k: conditional_escape(v) for k, v in values.items()})  # noqa: S308


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Entries come from the accrual, payouts and reviewed adjustments; never edited."""

    list_display = (
        "created_at",
        "household",
        "kind",
        "amount_shown",
        "outage",
        "accrual_seq",
        "note",
    )

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_shown(self, entry):
        return rupees_html(entry.amount)

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
        "posted_amount_shown",
        "households",
        "duration_ms",
    )
    show_full_result_count = False

    @admin.display(description=gettext_lazy("posted"), ordering="posted_amount")
    def posted_amount_shown(self, run):
        return rupees_html(run.posted_amount)


class AreaFilter(admin.SimpleListFilter):
    title = gettext_lazy("area")
    parameter_name = "area"

    def lookups(self, request, model_admin):
        return [(a.pk, a.code) for a in Area.objects.order_by("code")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(household__devices__area_id=self.value()).distinct()
        return queryset


class ExportedFilter(admin.SimpleListFilter):
    title = gettext_lazy("exported")
    parameter_name = "exported"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(exported_at__isnull=self.value() == "no")
        return queryset


def exported_words(payout: Payout) -> str:
    """When and by whom the payout went out in an export, or "" if it never did."""
    if payout.exported_at is None:
        return ""
    when = date_format(timezone.localtime(payout.exported_at), "d M Y H:i")
    if payout.exported_by is None:
        # Translators: when a payout was exported, and that nobody was recorded doing it.
        return _("%(when)s by unrecorded") % {"when": when}
    # Translators: when a payout was exported, and by which staff member.
    return _("%(when)s by %(who)s") % {"when": when, "who": payout.exported_by}


# What each step's button and title say.
ACTIONS = {
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject"),
    "pay": gettext_lazy("Mark paid"),
}
TITLES = {
    "approve": gettext_lazy("Approve: confirm"),
    "reject": gettext_lazy("Reject: confirm"),
    "pay": gettext_lazy("Mark paid: confirm"),
}

STEPS = {
    # URL name of the step -> (target state, what the note is, whether it is required)
    "approve": (PayoutState.APPROVED, "", False),
    "reject": (PayoutState.REJECTED, gettext_lazy("Reason (the household sees it)"), True),
    "pay": (PayoutState.PAID, gettext_lazy("Payment reference"), True),
}

# The states and rejections as the pages name them: the models' labels, translated lazily.
STATE_LABELS = review.STATE_LABELS
REJECTION_LABELS = dict(RejectionKind.choices)

REJECTION_HELP = {
    RejectionKind.RETURN: gettext_lazy(
        "The money goes back to the balance (for example, wrong account "
        "details): the household is paid next time, and that payout waits for review."
    ),
    RejectionKind.REFUSE: gettext_lazy(
        "The outages it paid for are withheld for good: its money comes back, "
        "and an adjustment takes back everything the ledger holds for them (all they accrued, "
        "after this payout too); they never count again."
    ),
}


def balance_words(amount: Decimal, payouts: int = 1) -> str:
    """A change of balance in words, for the reviewer: never a bare sign to misread.

    A clause the page puts after "Returned:" and "Now, it", e.g. "adds ₹14.00 to the balance".
    """
    values = {"amount": rupees_words(abs(amount)), "count": payouts}
    if amount == 0:
        if payouts > 1:
            return (
                ngettext(
                    "leaves the balances of the %(count)d payouts' households as they are",
                    "leaves the balances of the %(count)d payouts' households as they are",
                    payouts,
                )
                % values
            )
        return _("leaves the balance as it is")
    if payouts == 1:
        if amount > 0:
            # Translators: what a rejection does to the household's balance, after "Now, it".
            return _("adds %(amount)s to the balance") % values
        return _("takes %(amount)s from the balance") % values
    if amount > 0:
        return (
            ngettext(
                "adds %(amount)s to the balances of the %(count)d payouts' households",
                "adds %(amount)s to the balances of the %(count)d payouts' households",
                payouts,
            )
            % values
        )
    return (
        ngettext(
            "takes %(amount)s from the balances of the %(count)d payouts' households",
            "takes %(amount)s from the balances of the %(count)d payouts' households",
            payouts,
        )
        % values
    )


# What a payout in a state it cannot leave that way is, on the confirmation page.
CANNOT_BE = {
    # Translators: %(state)s is the payout's state, e.g. "paid: it cannot be approved".
    PayoutState.APPROVED: gettext_lazy("%(state)s: it cannot be approved"),
    PayoutState.REJECTED: gettext_lazy("%(state)s: it cannot be rejected"),
    PayoutState.PAID: gettext_lazy("%(state)s: it cannot be marked paid"),
    PayoutState.AWAITING: gettext_lazy("%(state)s: it cannot be put back for review"),
}


# What a step did, said after the confirmation page: "3 payout(s) approved.".
DONE = {
    PayoutState.APPROVED: ngettext_lazy(
        "%(count)d payout(s) approved.", "%(count)d payout(s) approved.", "count"
    ),
    PayoutState.REJECTED: ngettext_lazy(
        "%(count)d payout(s) rejected.", "%(count)d payout(s) rejected.", "count"
    ),
    PayoutState.PAID: ngettext_lazy(
        "%(count)d payout(s) marked paid.", "%(count)d payout(s) marked paid.", "count"
    ),
    PayoutState.AWAITING: ngettext_lazy(
        "%(count)d payout(s) put back for review.",
        "%(count)d payout(s) put back for review.",
        "count",
    ),
}


def was_approved(payout: Payout) -> bool:
    """Whether the payout was ever approved (its steps, prefetched on the list)."""
    return any(t.to_state == PayoutState.APPROVED for t in payout.transitions.all())


def where_it_goes(payout: Payout) -> tuple[str, str]:
    """(where the payout goes, why it cannot go yet): as approved, else the household's now."""
    approved = payout.destination()
    if approved.method:
        return approved.label() or _("as approved, unreadable"), ""
    if payout.state != PayoutState.AWAITING:
        if not was_approved(payout):
            return "", _("never approved")
        return "", _("no destination was recorded when it was approved")
    household = payout.household.payout_destination()
    return household.label(), household.unusable_because()


def payout_link(payout_id: int) -> str:
    return reverse("admin:payouts_payout_change", args=[payout_id])


def evidence_lists(shown: dict) -> dict:
    """The lists the payout's page puts inside its sentences, each item in words (HTML)."""
    return {
        # "Pays again the money of …": the rejected payouts this one carries.
        "carries_list": mark_safe(  # noqa: S308 (each item escaped by html_words)
            ", ".join(
                html_words(
                    _(
                        '<a href="%(url)s">rejected payout #%(payout)s</a> (%(amount)s, '
                        "returned to the balance %(date)s: %(reason)s)"
                    ),
                    url=payout_link(p.pk),
                    payout=p.pk,
                    amount=rupees_words(p.amount),
                    date=date_format(timezone.localtime(p.decided_at), "j M Y")
                    if p.decided_at
                    else "",
                    reason=p.reason,
                )
                for p in shown["carries"]
            )
        ),
        # "… paid again with …": the payouts that pay this rejected one again.
        "carried_by_list": mark_safe(  # noqa: S308 (each item escaped by html_words)
            ", ".join(
                html_words(
                    _('<a href="%(url)s">payout #%(payout)s</a>'),
                    url=payout_link(p.pk),
                    payout=p.pk,
                )
                for p in shown["carried_by"]
            )
        ),
        # "… withheld for good": the outages its rejection refused.
        "refused_list": ", ".join(outage_words(r.outage_id, r.amount) for r in shown["refused"]),
    }


def outage_words(outage_id: int, amount: Decimal) -> str:
    # Translators: an outage and what the ledger held for it, e.g. "outage #12 (₹14.004438)".
    return _("outage #%(outage)s (%(amount)s)") % {
        "outage": outage_id,
        "amount": rupees_words(amount),
    }


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    """Board staff review payouts: approve, reject with a reason, mark paid with a reference.

    Payouts are made by the daily task, never added, edited or deleted here;
    every step goes through a confirmation page and `payouts.review.transition`.
    """

    list_display = (
        "id",
        "household",
        "amount_shown",
        "state",
        "period",
        "created_at",
        "areas",
        "destination",
        "exported",
    )
    list_filter = (
        "state",
        "rejection",
        ExportedFilter,
        AreaFilter,
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = (
        "household__username",
        "household__email",
        "household__first_name",
        "household__last_name",
    )
    list_select_related = ("household", "exported_by")
    date_hierarchy = "created_at"
    actions = ["approve_selected", "reject_selected", "mark_selected_paid", "export_selected"]
    change_form_template = "admin/payouts/payout/change_form.html"
    change_list_template = "admin/payouts/payout/change_list.html"
    readonly_fields = [
        *(f.name for f in Payout._meta.fields),
        "amount_shown",
        "destination_approved",
        "destination_of_household",
        "exported",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    *("household", "amount_shown", "state", "period", "covers_from"),
                    "created_at",
                ]
            },
        ),
        (
            gettext_lazy("Where it goes"),
            {"fields": ["destination_approved", "destination_of_household"]},
        ),
        (
            gettext_lazy("Review"),
            {
                "fields": [
                    *("decided_at", "decided_by", "rejection", "reason", "flags"),
                    *("exported", "paid_at", "paid_by", "reference"),
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # fields never change by hand; steps are actions

    def has_review_permission(self, request):
        return request.user.has_perm("payouts.review_payout")

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_shown(self, payout):
        return rupees_html(payout.amount, "paise")

    @admin.display(description=gettext_lazy("destination"))
    def destination(self, payout):
        label, why = where_it_goes(payout)
        if label:
            return label
        return format_html(
            '<span class="no-destination">{}</span>',
            # Translators: a payout with no destination, and why.
            _("None: %(why)s") % {"why": why},
        )

    @admin.display(description=gettext_lazy("exported"), ordering="exported_at")
    def exported(self, payout):
        return exported_words(payout) or _("not exported")

    @admin.display(description=gettext_lazy("approved to"))
    def destination_approved(self, payout):
        approved = payout.destination()
        if approved.method:
            return approved.details() or _("unreadable")
        if payout.state == PayoutState.AWAITING:
            return _("not approved yet: the household's destination below is copied when it is")
        if was_approved(payout):
            return _("not recorded (approved before payouts recorded where they go)")
        return _("never approved")

    @admin.display(description=gettext_lazy("household's destination now"))
    def destination_of_household(self, payout):
        now = payout.household.payout_destination()
        if not now.ready():
            return format_html(
                '<span class="no-destination">{}</span>',
                _("%(why)s: the payout cannot be approved until the household sets one at %(url)s")
                % {"why": capfirst(now.unusable_because()), "url": SET_IT_AT},
            )
        approved = payout.destination()
        if approved.method and approved.normalised() != now.normalised():
            return html_words(
                _(
                    "%(destination)s <strong>(changed since the approval: this payout still "
                    "goes where it was approved)</strong>"
                ),
                destination=now.details(),
            )
        return now.details()

    @admin.display(description=gettext_lazy("areas"))
    def areas(self, payout):
        return ", ".join(sorted({d.area.code for d in payout.household.devices.all()}))

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("household__devices__area", "transitions")
        )

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
            shown = evidence.evidence(payout)
            extra["evidence"] = shown
            extra.update(evidence_lists(shown))
            extra["state_labels"] = STATE_LABELS
            extra["rejection_labels"] = REJECTION_LABELS
            extra["steps"] = (
                [
                    (name, ACTIONS[name])
                    for name, (to, _note, _required) in STEPS.items()
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

    @admin.action(description=gettext_lazy("Approve selected payouts…"), permissions=["review"])
    def approve_selected(self, request, queryset):
        return self._to_review(queryset, "approve")

    @admin.action(description=gettext_lazy("Reject selected payouts…"), permissions=["review"])
    def reject_selected(self, request, queryset):
        return self._to_review(queryset, "reject")

    @admin.action(description=gettext_lazy("Mark selected payouts paid…"), permissions=["review"])
    def mark_selected_paid(self, request, queryset):
        return self._to_review(queryset, "pay")

    @admin.action(
        description=gettext_lazy("Export selected approved payouts as CSV"), permissions=["view"]
    )
    def export_selected(self, request, queryset):
        try:
            content, left_out = export.export_csv(queryset, by=request.user)
        except review.PayoutError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        for reason in left_out:  # the download is the response: said on the next page
            self.message_user(request, reason, messages.WARNING)
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
        if any(not 0 < pk < 2**63 for pk in ids):
            raise Http404("Bad payout ids")
        payouts = list(
            Payout.objects.filter(pk__in=ids)
            .select_related("household")
            .prefetch_related("transitions")
        )
        if not payouts:
            raise Http404("No payout selected")
        error = ""
        rejection = request.POST.get("rejection", "") if request.method == "POST" else ""
        if request.method == "POST":
            note = request.POST.get("note", "").strip()
            # Marking paid: each payout its own reference (one payment, one payout).
            references = {p.pk: request.POST.get(f"reference-{p.pk}", "").strip() for p in payouts}
            if to == PayoutState.PAID and not any(references.values()):
                error = _("Give each payout's payment reference.")
            elif to != PayoutState.PAID and note_required and not note:
                # Translators: a field of the form left empty, e.g. "Reason … is required."
                error = _("%(field)s is required.") % {"field": note_label}
            elif to == PayoutState.REJECTED and rejection not in RejectionKind.values:
                error = review.CHOOSE_REJECTION
            else:
                done, refused = 0, []
                for payout in payouts:
                    if to == PayoutState.PAID and not references[payout.pk]:
                        refused.append(
                            _("Payout #%(payout)s: no reference given: left as it is.")
                            % {"payout": payout.pk}
                        )
                        continue
                    try:
                        review.transition(
                            payout.pk,
                            to,
                            request.user,
                            references[payout.pk] if to == PayoutState.PAID else note,
                            rejection=rejection if to == PayoutState.REJECTED else "",
                            # Approving: where the reviewer was shown it goes, nothing else.
                            seen_destination=request.POST.get(f"seen-{payout.pk}", "")
                            if to == PayoutState.APPROVED
                            else None,
                            bank_returned=request.POST.get("bank_returned") == "yes",
                        )
                        done += 1
                    except review.PayoutError as problem:
                        refused.append(str(problem))
                if len(payouts) == 1 and refused:
                    error = refused[0]  # the same page again, to correct it
                else:
                    if done:
                        self.message_user(request, DONE[to] % {"count": done})
                    for problem in refused:
                        self.message_user(request, problem, messages.WARNING)
                    if len(payouts) == 1:
                        return redirect("admin:payouts_payout_change", payouts[0].pk)
                    return redirect("admin:payouts_payout_changelist")
        rows = []
        for p in payouts:
            label, why = where_it_goes(p)
            blocker = ""
            if to not in TRANSITIONS[PayoutState(p.state)]:
                blocker = CANNOT_BE[to] % {"state": str(STATE_LABELS[p.state]).lower()}
            elif to == PayoutState.APPROVED and why:
                blocker = review.no_destination(p, p.household.payout_destination())
            elif to == PayoutState.PAID and not p.destination_method:
                blocker = _("approved with no destination recorded: reject it")
            effects = None
            if to == PayoutState.REJECTED and not blocker:
                effects = review.rejection_effects(p)
                for effect in effects.values():
                    effect["words"] = balance_words(effect["net"])
                refusing = effects[RejectionKind.REFUSE]
                # "… taken back for outage #12 (₹14.004438)": the outages a refusal refuses.
                refusing["outage_list"] = ", ".join(
                    outage_words(outage, amount) for outage, amount in refusing["outages"]
                ) or _("no outage")
            household = p.household.payout_destination()
            if to == PayoutState.APPROVED and not blocker:
                # Approving copies the household's destination: show all of it, and carry
                # its fingerprint (not the account number) for transition() to compare.
                label = household.details()
            rows.append(
                {
                    "payout": p,
                    "destination": label or why,
                    "seen": household.fingerprint(),
                    "blocker": blocker,
                    "effects": effects,
                    "reference": request.POST.get(f"reference-{p.pk}", "")
                    if request.method == "POST"
                    else "",
                }
            )
        movable = [row["payout"] for row in rows if not row["blocker"]]
        effects = [row["effects"] for row in rows if row["effects"]]
        methods = sorted({p.destination_method for p in movable if p.destination_method})
        exported = [p for p in movable if p.exported_at] if to == PayoutState.REJECTED else []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": TITLES[step],
            "action": ACTIONS[step],
            "step": step,
            "target": to,
            "payouts": payouts,
            "rows": rows,
            "movable": movable,
            "note_label": "" if to == PayoutState.PAID else note_label,
            "note_required": note_required,
            "exported": exported,
            "exported_ids": ", ".join(f"#{p.pk}" for p in exported),
            "state_labels": STATE_LABELS,
            # Marking paid: what the reference of each method being paid is and looks like.
            "references": [
                {"method": method_words(m), "expected": expected_reference(m)}
                for m in methods
                if m in REFERENCES
            ]
            if to == PayoutState.PAID
            else [],
            "note": request.POST.get("note", "") if request.method == "POST" else "",
            "error": error,
            "total": sum((p.amount for p in payouts), Decimal(0)),
            # Rejecting: what each kind does to the balances, chosen with no default.
            "rejections": [
                {
                    "value": kind.value,
                    "label": REJECTION_LABELS[kind],
                    "help": REJECTION_HELP[kind],
                    "checked": rejection == kind.value,
                    "net": balance_words(
                        sum((e[kind]["net"] for e in effects), Decimal(0)), len(effects)
                    ),
                }
                for kind in RejectionKind
            ]
            if to == PayoutState.REJECTED
            else [],
        }
        return TemplateResponse(request, "admin/payouts/payout/review.html", context)


@admin.register(PayoutTransition)
class PayoutTransitionAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "payout",
        "kind",
        "from_state",
        "to_state",
        "rejection",
        "bank_returned",
        "by",
        "note",
    )
    list_filter = ("kind", "to_state", "rejection", "bank_returned")
    list_select_related = ("payout", "by")
