from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import BOARD_STAFF_GROUP, BOARD_STAFF_PERMISSIONS
from payouts.models import Policy

pytestmark = pytest.mark.django_db


def test_the_migrations_give_board_staff_exactly_the_listed_permissions():
    group = Group.objects.get(name=BOARD_STAFF_GROUP)

    granted = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert granted == set(BOARD_STAFF_PERMISSIONS)


def test_the_default_policy_of_the_spec_is_in_force():
    policy = Policy.objects.get()

    assert (policy.multiplier, policy.escalation, policy.grace_seconds) == (5, 0.25, 0)
    assert (policy.cap_per_outage, policy.cap_per_month) == (500, 3000)
    assert (policy.max_gap_seconds, policy.silence_timeout_seconds) == (120, 300)


def test_board_staff_add_a_version_from_the_delhi_preset(client, board_staff):
    client.force_login(board_staff)
    form = client.get("/admin/payouts/policy/add/?preset=delhi")
    assert form.status_code == 200 and b"Tiers, Delhi style" in form.content
    start = timezone.localtime(timezone.now() + timedelta(days=1))

    response = client.post(
        "/admin/payouts/policy/add/",
        {
            "name": "Delhi from tomorrow",
            "kind": "tiers",
            "effective_from_0": start.strftime("%Y-%m-%d"),
            "effective_from_1": start.strftime("%H:%M:%S"),
            "multiplier": "1",
            "escalation": "0",
            "tiers": '[[0, "0"], [1, "50"], [3, "100"]]',
            "grace_seconds": "0",
            "cap_per_outage": "500",
            "cap_per_month": "3000",
            "max_gap_seconds": "120",
            "silence_timeout_seconds": "300",
            "corroboration_devices": "2",
            "planned_unpaid_hours": "12",
            "corroborated_outages": "review",
            "uncorroborated_outages": "review",
            "contradicted_outages": "review",
            "note": "",
        },
    )

    assert response.status_code == 302, response.content
    version = Policy.objects.get(name="Delhi from tomorrow")
    assert version.created_by == board_staff
    assert version.terms().tiers[1] == (1, 50)
    assert version.terms().planned_unpaid_seconds == 12 * 3600


def test_a_version_cannot_start_in_the_past(client, board_staff):
    client.force_login(board_staff)
    start = timezone.localtime(timezone.now() - timedelta(days=1))

    response = client.post(
        "/admin/payouts/policy/add/",
        {
            "name": "Backdated",
            "kind": "compounding",
            "effective_from_0": start.strftime("%Y-%m-%d"),
            "effective_from_1": start.strftime("%H:%M:%S"),
            "multiplier": "50",
            "escalation": "0.25",
            "tiers": "[]",
            "grace_seconds": "0",
            "cap_per_outage": "500",
            "cap_per_month": "3000",
            "max_gap_seconds": "120",
            "silence_timeout_seconds": "300",
            "corroboration_devices": "2",
            "planned_unpaid_hours": "12",
            "corroborated_outages": "review",
            "uncorroborated_outages": "review",
            "contradicted_outages": "review",
        },
    )

    assert response.status_code == 200
    assert b"applies forward only" in response.content
    assert not Policy.objects.filter(name="Backdated").exists()


def test_a_version_in_force_cannot_be_changed_or_deleted(client, board_staff):
    client.force_login(board_staff)
    policy = Policy.objects.get()

    client.post(
        f"/admin/payouts/policy/{policy.pk}/change/", {"name": "Changed", "multiplier": "50"}
    )
    client.post(f"/admin/payouts/policy/{policy.pk}/delete/", {"post": "yes"})

    policy.refresh_from_db()
    assert policy.name == "Compounding (default)" and policy.multiplier == 5


def test_a_tiered_version_needs_tiers():
    policy = Policy(name="x", kind="tiers", effective_from=timezone.now(), tiers=[])

    with pytest.raises(Exception, match="at least one tier"):
        policy.full_clean()


def test_board_staff_can_read_the_ledger_but_not_write_it(client, board_staff):
    client.force_login(board_staff)

    assert client.get("/admin/payouts/ledgerentry/").status_code == 200
    assert client.get("/admin/payouts/ledgerentry/add/").status_code == 403


@pytest.mark.django_db
def test_corroboration_needs_at_least_two_devices():
    version = Policy(name="One is enough?", effective_from=timezone.now() + timedelta(days=1))
    version.corroboration_devices = 1

    with pytest.raises(ValidationError) as refused:
        version.full_clean()

    assert "corroboration_devices" in refused.value.message_dict
    assert Policy.objects.get().corroboration_devices == 2  # the version in force: the default
