from datetime import UTC, datetime
from decimal import Decimal

from django.db import migrations

# The default preset as it was when this migration was written (policy.presets may grow).
DEFAULT = {
    "name": "Compounding (default)",
    "kind": "compounding",
    "grace_seconds": 0,
    "multiplier": Decimal(5),
    "escalation": Decimal("0.25"),
    "cap_per_outage": Decimal(500),
    "cap_per_month": Decimal(3000),
    "max_gap_seconds": 120,
    "silence_timeout_seconds": 300,
}


def create_default(apps, schema_editor):
    Policy = apps.get_model("payouts", "Policy")
    if not Policy.objects.exists():
        Policy.objects.create(
            effective_from=datetime(2000, 1, 1, tzinfo=UTC),
            note="The default policy of the product specification.",
            tiers=[],
            **DEFAULT,
        )


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
