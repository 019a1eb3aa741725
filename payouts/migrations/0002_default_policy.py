from datetime import UTC, datetime

from django.db import migrations

from payouts.presets import PRESETS


def create_default(apps, schema_editor):
    Policy = apps.get_model("payouts", "Policy")
    if not Policy.objects.exists():
        values = dict(PRESETS["default"])
        values["tiers"] = []
        Policy.objects.create(
            effective_from=datetime(2000, 1, 1, tzinfo=UTC),
            note="The default policy of the product specification.",
            **values,
        )


class Migration(migrations.Migration):
    dependencies = [("payouts", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
