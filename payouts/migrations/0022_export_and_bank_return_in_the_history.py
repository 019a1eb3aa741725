"""A payout's review history records its export (who, when; it stays approved) and, for a
rejection of an exported payout, that the reviewer said the bank returned it unpaid.

Payouts exported before get their export written into the history from `exported_at` and
`exported_by`; their rejections after it were confirmed so (the review required it)."""

from django.conf import settings
from django.db import migrations, models

def write_exports(apps, schema_editor):
    Payout = apps.get_model("payouts", "Payout")
    Transition = apps.get_model("payouts", "PayoutTransition")
    exported = list(
        Payout.objects.filter(exported_at__isnull=False).values_list(
            "pk", "exported_at", "exported_by_id"
        )
    )
    Transition.objects.bulk_create(
        Transition(
            payout_id=pk,
            kind="export",
            from_state="approved",
            to_state="approved",
            by_id=by,
            at=at,
        )
        for pk, at, by in exported
    )
    for pk, at, _ in exported:
        Transition.objects.filter(
            payout_id=pk, kind="step", to_state="rejected", at__gte=at
        ).update(bank_returned=True)


def forget_exports(apps, schema_editor):
    # Back to one row per step out of a state: the exports are in `exported_at` still.
    apps.get_model("payouts", "PayoutTransition").objects.filter(kind="export").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('payouts', '0021_references_in_capitals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='payouttransition',
            name='payout_step_once',
        ),
        migrations.AddField(
            model_name='payouttransition',
            name='bank_returned',
            field=models.BooleanField(default=False, help_text='rejecting an exported payout: the reviewer said the bank returned it unpaid'),
        ),
        migrations.AddField(
            model_name='payouttransition',
            name='kind',
            field=models.CharField(choices=[('step', 'Review step'), ('export', 'Exported')], default='step', max_length=8),
        ),
        migrations.AddConstraint(
            model_name='payouttransition',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'step')), fields=('payout', 'from_state'), name='payout_step_once'),
        ),
        migrations.AddConstraint(
            model_name='payouttransition',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'export')), fields=('payout',), name='payout_exported_once'),
        ),
        migrations.AddConstraint(
            model_name='payouttransition',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'export'), _negated=True), models.Q(('from_state', 'approved'), ('to_state', 'approved')), _connector='OR'), name='payout_export_stays_approved'),
        ),
        migrations.AddConstraint(
            model_name='payouttransition',
            constraint=models.CheckConstraint(condition=models.Q(('bank_returned', False), models.Q(('kind', 'step'), ('to_state', 'rejected')), _connector='OR'), name='payout_bank_returned_on_rejection'),
        ),
        migrations.RunPython(write_exports, forget_exports),
    ]
