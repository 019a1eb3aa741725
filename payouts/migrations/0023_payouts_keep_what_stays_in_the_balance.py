"""Payouts keep what stayed in the balance when they were made (under a paisa), so that a
payout's page can say what came from before and what stays for the next payout."""

import common.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('payouts', '0022_export_and_bank_return_in_the_history'),
    ]

    operations = [
        migrations.AddField(
            model_name='payout',
            name='left_in_balance',
            field=common.fields.ExactDecimalField(blank=True, decimal_places=6, max_digits=14, null=True),
        ),
    ]
