from django.db import migrations

from ._frozen import BOARD_STAFF_GROUP, sync_group_permissions

# As it was when this migration was written; later migrations extend it.
PERMISSIONS = [("accounts", "view_user"), ("devices", "view_area"), ("devices", "view_device")]


def create_board_staff(apps, schema_editor):
    sync_group_permissions(apps, BOARD_STAFF_GROUP, PERMISSIONS)


def remove_board_staff(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=BOARD_STAFF_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("devices", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_board_staff, remove_board_staff)]
