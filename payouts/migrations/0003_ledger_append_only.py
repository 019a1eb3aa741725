"""The ledger refuses UPDATE and DELETE in the database itself (see payouts.guard)."""

from django.db import migrations

from payouts import guard


def up(apps, schema_editor):
    guard.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0002_default_policy")]

    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
