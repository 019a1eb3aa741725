"""The policy moves out of payouts into its own app, keeping its table (payouts_policy) and
its rows: only Django's idea of which app holds the model changes. Its content type moves
in payouts 0026, which forgets the model there (so that going back to payouts 0025 moves it
back too)."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("payouts", "0025_accrual_checkpoints_by_slot"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='Policy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('kind', models.CharField(choices=[('compounding', 'Compounding'), ('tiers', 'Tiers')], default='compounding', max_length=16)),
                ('effective_from', models.DateTimeField(unique=True)),
                ('grace_seconds', models.PositiveIntegerField(default=0, help_text='nothing is owed before this')),
                ('multiplier', models.DecimalField(decimal_places=4, default=Decimal('5'), max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('escalation', models.DecimalField(decimal_places=6, default=Decimal('0.25'), help_text='compounding growth per hour: 0.25 is 25 % an hour', max_digits=8, validators=[django.core.validators.MinValueValidator(0)])),
                ('tiers', models.JSONField(blank=True, default=list, help_text='for tiers: [[from hour, rupees per hour], ...], e.g. [[1, "50"], [3, "100"]]')),
                ('cap_per_outage', models.DecimalField(decimal_places=2, default=Decimal('500'), max_digits=12)),
                ('cap_per_month', models.DecimalField(decimal_places=2, default=Decimal('3000'), help_text='per household, Asia/Kolkata months', max_digits=12)),
                ('max_gap_seconds', models.PositiveIntegerField(default=120, help_text='longer silences are not paid; at most 600 s and at most the silence timeout; it judges ticks taken while this version is in force', validators=[django.core.validators.MaxValueValidator(600, "At most 600 s: a longer silence is nobody's witness.")])),
                ('silence_timeout_seconds', models.PositiveIntegerField(default=300, help_text='then: lost contact')),
                ('planned_unpaid_hours', models.PositiveIntegerField(default=0, help_text="time inside a planned cut announced in advance pays nothing for this many hours from the cut's start (Delhi: 12)")),
                ('exemptions_pay', models.BooleanField(default=False, help_text='whether time inside an exemption (a declared storm) pays')),
                ('corroboration_households', models.PositiveSmallIntegerField(default=2, help_text="an outage is corroborated when this many households of its area (its own included) had a device off over overlapping time; a household's own devices agreeing are one voice", validators=[django.core.validators.MinValueValidator(2)])),
                ('corroborated_outages', models.CharField(choices=[('pay', 'Pay automatically'), ('review', 'Pay after review'), ('withhold', 'Do not pay')], default='review', help_text='payouts made only of such outages are approved at once when this pays automatically', max_length=16)),
                ('uncorroborated_outages', models.CharField(choices=[('pay', 'Pay automatically'), ('review', 'Pay after review'), ('withhold', 'Do not pay')], default='review', help_text="too few households of the area off together, or the area's only household", max_length=16)),
                ('contradicted_outages', models.CharField(choices=[('pay', 'Pay automatically'), ('review', 'Pay after review'), ('withhold', 'Do not pay')], default='review', help_text="another device of the area (the household's own included) had power meanwhile", max_length=16)),
                ('note', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('created_by', models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'policies',
                'db_table': 'payouts_policy',
                'ordering': ['-effective_from'],
            },
        ),
            ],
        ),
    ]
