"""What this app's migrations need of code that lives on, copied as it was when they were
written (frozen on purpose): a later change to the live code must not change what an old
migration does to a fresh database. Django's migration loader skips modules named `_*`."""

BOARD_STAFF_GROUP = "Board staff"


def sync_group_permissions(apps, group_name: str, permissions: list[tuple[str, str]]) -> None:
    """Make the group hold exactly these permissions (as accounts.roles did on 2026-11-30,
    but with the models as they were at this migration, not as they live now)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create the
    # ones this group needs now so that a fresh database gets a full group.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    wanted = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in permissions
    ]
    group.permissions.set(wanted)
