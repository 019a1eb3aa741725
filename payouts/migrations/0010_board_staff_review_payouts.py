from django.db import migrations

from ._frozen import BOARD_STAFF_GROUP, sync_group_permissions

# As it was when this migration was written: later migrations extend it.
# Board staff review payouts and delete nothing (no more delete_policy).
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
    ("payouts", "view_payout"),
    ("payouts", "review_payout"),
    ("payouts", "view_payouttransition"),
]


def update_board_staff(apps, schema_editor):
    sync_group_permissions(apps, BOARD_STAFF_GROUP, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("payouts", "0009_payouts"),
        ("accounts", "0003_payout_details"),
    ]

    operations = [migrations.RunPython(update_board_staff, migrations.RunPython.noop)]
