"""Staff roles as permission sets, applied by migrations and kept in one place."""

BOARD_STAFF_GROUP = "Board staff"

# What board staff may do: read households, devices, outages and the ledger;
# add policy versions (and change those not yet in force); review payouts;
# announce planned cuts and exemptions (and change those not yet started).
# They delete nothing.
BOARD_STAFF_PERMISSIONS = [
    ("accounts", "view_user"),
    ("devices", "view_area"),
    ("devices", "view_device"),
    ("devices", "view_outage"),
    ("devices", "view_plannedcut"),
    ("devices", "add_plannedcut"),
    ("devices", "change_plannedcut"),
    ("payouts", "view_ledgerentry"),
    ("payouts", "view_accrualrun"),
    ("payouts", "view_policy"),
    ("payouts", "add_policy"),
    ("payouts", "change_policy"),
    ("payouts", "view_payout"),
    ("payouts", "review_payout"),
    ("payouts", "view_payouttransition"),
]


def sync_group_permissions(apps, group_name: str, permissions: list[tuple[str, str]]) -> None:
    """Make the group hold exactly these permissions (for use inside a migration)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations ran; create the
    # ones this group needs now so that a fresh database gets a full group.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    wanted = [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in permissions
    ]
    group.permissions.set(wanted)


def ensure_board_staff_group():
    """The Board staff group with its permissions, made now if it is missing (tests, restores)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=BOARD_STAFF_GROUP)
    group.permissions.set(
        [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in BOARD_STAFF_PERMISSIONS
        ]
    )
    return group
