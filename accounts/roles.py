"""Staff roles as permission sets, kept in one place (the migrations froze their own copies)."""

BOARD_STAFF_GROUP = "Board staff"
# What opens the board's view (/board/) to a staff account.
BOARD_VIEW_PERMISSION = "payouts.view_payout"


def is_board_staff(user) -> bool:
    return user.is_staff and user.has_perm(BOARD_VIEW_PERMISSION)


def landing_url_name(user) -> str:
    """Where a signed-in account starts: households their dashboard, staff their work.

    Staff are households too, but one without a device has nothing to watch:
    board staff land on the board, other staff (installers, superusers) on the admin.
    """
    if user.is_staff and not user.devices.exists():
        if is_board_staff(user) and not user.is_superuser:
            return "board:board"
        return "admin:index"
    return "dashboard"


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
    ("policy", "view_policy"),
    ("policy", "add_policy"),
    ("policy", "change_policy"),
    ("payouts", "view_payout"),
    ("payouts", "review_payout"),
    ("payouts", "view_payouttransition"),
]


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
