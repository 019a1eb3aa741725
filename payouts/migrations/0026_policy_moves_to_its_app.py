"""The policy now lives in its own app (policy 0001): payouts forgets it, the table stays.

Its content type moves with it, so that the permissions on it (board staff's) and the
admin's history follow; migrating back to 0025 moves it back.
"""

from django.db import migrations


def _move(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    # One made for the new place meanwhile (after a migration back and forth, post_migrate
    # makes an empty one for the model where the code has it) goes: the old one, with its
    # permissions and history, takes its place.
    ContentType.objects.filter(app_label=new, model="policy").delete()
    ContentType.objects.filter(app_label=old, model="policy").update(app_label=new)


def move_content_type(apps, schema_editor):
    _move(apps, "payouts", "policy")


def move_content_type_back(apps, schema_editor):
    _move(apps, "policy", "payouts")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("payouts", "0025_accrual_checkpoints_by_slot"),
        ("policy", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="Policy")],
        ),
    ]
