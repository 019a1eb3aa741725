"""A rejection says which it is: the money returned to the balance, or the claim refused.

Rejections made before this migration returned the money (a `reversal`), so they
become *return*; each is marked carried by the household's first payout made after
it, which paid that money again. What the policy withheld with each payout, one row
per outage, is read back from its `adjustment` entry (the note names the outages;
each one's amount is what it accrued in the payout's window, as the payout worked it
out). The note's shape is frozen here.
"""

import re
from decimal import Decimal

import django.db.models.deletion

import common.fields
from django.conf import settings
from django.db import migrations, models

KINDS = [("return", "Return to the balance"), ("refuse", "Refuse the claim")]
NAMED_OUTAGE = re.compile(r"outage #(\d+)")
PLACES = Decimal("0.000001")


def forwards(apps, schema_editor):
    Payout = apps.get_model("payouts", "Payout")
    PayoutTransition = apps.get_model("payouts", "PayoutTransition")
    LedgerEntry = apps.get_model("payouts", "LedgerEntry")
    WithheldOutage = apps.get_model("payouts", "WithheldOutage")

    Payout.objects.filter(state="rejected").update(rejection="return")
    PayoutTransition.objects.filter(to_state="rejected").update(rejection="return")
    for rejected in Payout.objects.filter(state="rejected").exclude(decided_at=None):
        carrier = (
            Payout.objects.filter(
                household_id=rejected.household_id, created_at__gt=rejected.decided_at
            )
            .order_by("created_at", "pk")
            .first()
        )
        if carrier is not None:
            carrier.carries.add(rejected)

    rows = []
    for entry in LedgerEntry.objects.filter(kind="adjustment").exclude(payout=None):
        payout = Payout.objects.get(pk=entry.payout_id)
        window = models.Q(
            household_id=payout.household_id, kind="accrual", created_at__lte=payout.created_at
        )
        if payout.covers_from is not None:
            window &= models.Q(created_at__gt=payout.covers_from)
        for outage_id in {int(n) for n in NAMED_OUTAGE.findall(entry.note)}:
            amounts = LedgerEntry.objects.filter(window, outage_id=outage_id).values_list(
                "amount", flat=True
            )
            total = sum(amounts, Decimal(0)).quantize(PLACES)
            if total:
                rows.append(
                    WithheldOutage(payout_id=payout.pk, outage_id=outage_id, amount=total)
                )
    WithheldOutage.objects.bulk_create(rows)


class Migration(migrations.Migration):

    dependencies = [
        ("devices", "0005_households_only_in_pickers"),
        ("payouts", "0017_policy_corroboration_households"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="payout",
            name="rejection",
            field=models.CharField(
                blank=True,
                choices=KINDS,
                default="",
                help_text="returned to the balance (paid next time), or the claim refused (its "
                "outages withheld for good)",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="payouttransition",
            name="rejection",
            field=models.CharField(blank=True, choices=KINDS, default="", max_length=8),
        ),
        migrations.AddField(
            model_name="payout",
            name="carries",
            field=models.ManyToManyField(
                blank=True, related_name="carried_by", to="payouts.payout"
            ),
        ),
        migrations.CreateModel(
            name="WithheldOutage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount", common.fields.ExactDecimalField(decimal_places=6, max_digits=14)),
                (
                    "outage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="devices.outage",
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="withheld_outages",
                        to="payouts.payout",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("payout", "outage"), name="withheld_outage_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RefusedOutage",
            fields=[
                (
                    "outage",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="refusal",
                        serialize=False,
                        to="devices.outage",
                    ),
                ),
                ("amount", common.fields.ExactDecimalField(decimal_places=6, max_digits=14)),
                ("at", models.DateTimeField()),
                ("reason", models.TextField()),
                (
                    "by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payouts.ledgerentry",
                    ),
                ),
                (
                    "payout",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="refused_outages",
                        to="payouts.payout",
                    ),
                ),
            ],
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="payout",
            constraint=models.CheckConstraint(
                condition=models.Q(("rejection__in", ["return", "refuse"]), ("state", "rejected"))
                | models.Q(models.Q(("state", "rejected"), _negated=True), ("rejection", "")),
                name="payout_rejection_says_which",
            ),
        ),
        migrations.AddConstraint(
            model_name="payouttransition",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("rejection__in", ["return", "refuse"]), ("to_state", "rejected")
                )
                | models.Q(models.Q(("to_state", "rejected"), _negated=True), ("rejection", "")),
                name="payout_step_rejection_says_which",
            ),
        ),
    ]
