from django.db import migrations

from ._frozen import BOARD_STAFF_GROUP, sync_group_permissions

# As it was when this migration was written: later migrations extend it.
PERMISSIONS = [
    ("accounts", "view_user"),
    ("devices", "view_area"),
    ("devices", "view_device"),
    ("devices", "view_outage"),
    ("payouts", "view_ledgerentry"),
    ("payouts", "view_accrualrun"),
    ("payouts", "view_policy"),
    ("payouts", "add_policy"),
    ("payouts", "change_policy"),
    ("payouts", "delete_policy"),
]


def update_board_staff(apps, schema_editor):
    sync_group_permissions(apps, BOARD_STAFF_GROUP, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0003_ledger_append_only"),
        ("accounts", "0002_board_staff_group"),
        ("devices", "0002_outages"),
    ]

    operations = [migrations.RunPython(update_board_staff, migrations.RunPython.noop)]
