"""Payouts record where they go when approved; those already approved and not yet paid
get their household's destination now, when it is usable (accounts 0004 read the old
free text), and otherwise stay without one: they can be neither exported nor marked
paid until rejected back to the balance and approved again with a destination.

The rules of a usable destination are frozen here (accounts/destinations.py at the time, payouts/destinations.py now).
"""

import re

from django.db import migrations, models

USABLE = {
    "upi": {"payout_upi_id": re.compile(r"[a-z0-9][a-z0-9._-]{1,63}@[a-z][a-z0-9]{1,63}")},
    "bank": {
        "payout_bank_account": re.compile(r"[0-9]{9,18}"),
        "payout_ifsc": re.compile(r"[A-Z]{4}0[A-Z0-9]{6}"),
        "payout_account_holder": re.compile(r".*[^\W\d_].*"),
    },
    "bill": {"payout_consumer_number": re.compile(r"(?=.*[0-9])[A-Z0-9]{6,20}")},
}


def forwards(apps, schema_editor):
    Payout = apps.get_model("payouts", "Payout")
    for payout in Payout.objects.filter(state="approved", destination_method="").select_related(
        "household"
    ):
        household = payout.household
        needs = USABLE.get(household.payout_method)
        if not needs or not all(p.fullmatch(getattr(household, f)) for f, p in needs.items()):
            continue
        Payout.objects.filter(pk=payout.pk).update(
            destination_method=household.payout_method,
            **{f"destination_{f[len('payout_'):]}": getattr(household, f) for f in needs},
        )


class Migration(migrations.Migration):

    dependencies = [
        ('payouts', '0014_corroboration_rules'),
        ('accounts', '0004_payout_destination'),
    ]

    operations = [
        migrations.AddField(
            model_name='payout',
            name='destination_account_holder',
            field=models.CharField(blank=True, default='', max_length=100, verbose_name='account holder'),
        ),
        migrations.AddField(
            model_name='payout',
            name='destination_bank_account',
            field=models.CharField(blank=True, default='', max_length=18, verbose_name='bank account number'),
        ),
        migrations.AddField(
            model_name='payout',
            name='destination_consumer_number',
            field=models.CharField(blank=True, default='', max_length=20, verbose_name='electricity consumer number'),
        ),
        migrations.AddField(
            model_name='payout',
            name='destination_ifsc',
            field=models.CharField(blank=True, default='', max_length=11, verbose_name='IFSC'),
        ),
        migrations.AddField(
            model_name='payout',
            name='destination_method',
            field=models.CharField(blank=True, choices=[('upi', 'UPI'), ('bank', 'Bank transfer'), ('bill', 'Credit on the electricity bill')], default='', max_length=8, verbose_name='method'),
        ),
        migrations.AddField(
            model_name='payout',
            name='destination_upi_id',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='UPI ID'),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
