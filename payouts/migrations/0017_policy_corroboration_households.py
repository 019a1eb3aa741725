"""Corroboration counts households, not devices: a household's own devices agreeing are one
voice. The setting keeps its value and its minimum of 2 under its new name."""

import django.core.validators
from django.db import migrations, models

RULES = [("pay", "Pay automatically"), ("review", "Pay after review"), ("withhold", "Do not pay")]


class Migration(migrations.Migration):

    dependencies = [
        ("payouts", "0016_exact_money_on_sqlite"),
    ]

    operations = [
        migrations.RenameField(
            model_name="policy",
            old_name="corroboration_devices",
            new_name="corroboration_households",
        ),
        migrations.AlterField(
            model_name="policy",
            name="corroboration_households",
            field=models.PositiveSmallIntegerField(
                default=2,
                help_text="an outage is corroborated when this many households of its area (its "
                "own included) had a device off over overlapping time; a household's own "
                "devices agreeing are one voice",
                validators=[django.core.validators.MinValueValidator(2)],
            ),
        ),
        migrations.AlterField(
            model_name="policy",
            name="uncorroborated_outages",
            field=models.CharField(
                choices=RULES,
                default="review",
                help_text="too few households of the area off together, or the area's only "
                "household",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="policy",
            name="contradicted_outages",
            field=models.CharField(
                choices=RULES,
                default="review",
                help_text="another device of the area (the household's own included) had power "
                "meanwhile",
                max_length=16,
            ),
        ),
    ]
