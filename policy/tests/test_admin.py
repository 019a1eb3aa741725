from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import BOARD_STAFF_GROUP, BOARD_STAFF_PERMISSIONS
from policy.admin import PolicyAdmin
from policy.models import Policy

pytestmark = pytest.mark.django_db


def tier_rows(*rows):
    """The policy form's tier rows as posted: (from hour, rupees per hour) each."""
    posted = {}
    for n, (start, rate) in enumerate(rows):
        posted[f"tiers_from_{n}"], posted[f"tiers_rate_{n}"] = start, rate
    return posted


def version(start, **changes):
    """A whole policy form as posted, starting at `start` (local time)."""
    return {
        "name": "Next version",
        "kind": "compounding",
        "effective_from_0": start.strftime("%Y-%m-%d"),
        "effective_from_1": start.strftime("%H:%M:%S"),
        "multiplier": "5",
        "escalation": "0.25",
        **tier_rows(("", "")),
        "grace_seconds": "0",
        "cap_per_outage": "500",
        "cap_per_month": "3000",
        "max_gap_seconds": "120",
        "silence_timeout_seconds": "300",
        "corroboration_households": "2",
        "planned_unpaid_hours": "0",
        "corroborated_outages": "review",
        "uncorroborated_outages": "review",
        "contradicted_outages": "review",
        "note": "",
        **changes,
    }


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
    form = client.get("/admin/policy/policy/add/?preset=delhi")
    assert form.status_code == 200 and b"Tiers, Delhi style" in form.content
    start = timezone.localtime(timezone.now() + timedelta(days=1))

    response = client.post(
        "/admin/policy/policy/add/",
        {
            "name": "Delhi from tomorrow",
            "kind": "tiers",
            "effective_from_0": start.strftime("%Y-%m-%d"),
            "effective_from_1": start.strftime("%H:%M:%S"),
            "multiplier": "1",
            "escalation": "0",
            **tier_rows(("0", "0"), ("1", "50"), ("3", "100"), ("", "")),
            "grace_seconds": "0",
            "cap_per_outage": "500",
            "cap_per_month": "3000",
            "max_gap_seconds": "120",
            "silence_timeout_seconds": "300",
            "corroboration_households": "2",
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
        "/admin/policy/policy/add/",
        {
            "name": "Backdated",
            "kind": "compounding",
            "effective_from_0": start.strftime("%Y-%m-%d"),
            "effective_from_1": start.strftime("%H:%M:%S"),
            "multiplier": "50",
            "escalation": "0.25",
            **tier_rows(("", ""), ("", "")),
            "grace_seconds": "0",
            "cap_per_outage": "500",
            "cap_per_month": "3000",
            "max_gap_seconds": "120",
            "silence_timeout_seconds": "300",
            "corroboration_households": "2",
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
        f"/admin/policy/policy/{policy.pk}/change/", {"name": "Changed", "multiplier": "50"}
    )
    client.post(f"/admin/policy/policy/{policy.pk}/delete/", {"post": "yes"})

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
def test_corroboration_needs_at_least_two_households():
    version = Policy(name="One is enough?", effective_from=timezone.now() + timedelta(days=1))
    version.corroboration_households = 1

    with pytest.raises(ValidationError) as refused:
        version.full_clean()

    assert "corroboration_households" in refused.value.message_dict
    assert Policy.objects.get().corroboration_households == 2  # the version in force: the default


@pytest.fixture
def tomorrow():
    return timezone.localtime(timezone.now() + timedelta(days=1))


def test_the_tiers_are_rows_not_json(client, board_staff):
    client.force_login(board_staff)

    form = client.get("/admin/policy/policy/add/?preset=delhi").content.decode()

    assert 'name="tiers_from_2" id="id_tiers_from_2" value="3"' in form
    assert 'name="tiers_rate_2" id="id_tiers_rate_2" value="100"' in form
    assert 'name="tiers_from_4"' in form  # spare rows to add tiers
    assert "[[0" not in form


def test_tiers_are_stored_as_the_same_json(client, board_staff, tomorrow):
    client.force_login(board_staff)
    rows = tier_rows(("0", "0"), ("", ""), ("1.5", "50.50"), ("4", "100"))

    response = client.post(
        "/admin/policy/policy/add/", version(tomorrow, kind="tiers", name="Rows", **rows)
    )

    assert response.status_code == 302, response.content
    assert Policy.objects.get(name="Rows").tiers == [[0, "0"], ["1.5", "50.5"], [4, "100"]]


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        ([("1", "50"), ("3", "100")], "The first tier starts at hour 0"),
        ([("0", "0"), ("3", "50"), ("2", "100")], "Row 3: tiers go up in hours"),
        ([("0", "0"), ("1", "50"), ("1", "100")], "Row 3: tiers go up in hours"),
        ([("0", "0"), ("1", "-50")], "Row 2: the rupees per hour cannot be negative."),
        ([("0", "0"), ("-1", "50")], "Row 2: the hour cannot be negative."),
        ([("0", "0"), ("1", "")], "Row 2: give both the hour"),
        ([("0", "0"), ("one", "50")], "Row 2: the hour “one” is not a number."),
        ([("0", "0"), ("1", "50.005")], "Row 2: the rupees per hour has at most two decimal"),
        ([("", "")], "A tiered policy needs at least one tier."),
        ([("0", "1e30")], "Row 1: at most ₹9,99,99,99,999.99 an hour, as caps are."),
    ],
)
def test_bad_tiers_are_refused_with_why(client, board_staff, tomorrow, rows, error):
    client.force_login(board_staff)

    response = client.post(
        "/admin/policy/policy/add/", version(tomorrow, kind="tiers", **tier_rows(*rows))
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Policy.objects.filter(name="Next version").exists()


def test_the_preview_shows_what_cuts_would_pay_without_saving(client, board_staff, tomorrow):
    """Delhi's tiers for the reference household: 1 h pays nothing, 3 h Rs 100, 8 h would
    be Rs 600 and stops at the cap per outage, Rs 500."""
    client.force_login(board_staff)
    delhi = tier_rows(("0", "0"), ("1", "50"), ("3", "100"))

    response = client.post(
        "/admin/policy/policy/add/",
        version(tomorrow, kind="tiers", _preview="Preview", **delhi),
    )

    assert response.status_code == 200
    assert not Policy.objects.filter(name="Next version").exists()
    assert b"Please correct" not in response.content
    shown = [(c.hours, c.paid, c.capped_by) for c in response.context["preview"]]
    assert shown == [
        (1, Decimal("0"), ""),
        (3, Decimal("100"), ""),
        (8, Decimal("500"), "per outage"),
    ]
    page = response.content.decode()
    assert "<strong>₹500.00</strong> (the cap per outage)" in page
    assert 'value="Tiers, Delhi style"' not in page  # what was entered, not a preset
    assert 'name="tiers_rate_2" id="id_tiers_rate_2" value="100"' in page


def test_the_preview_of_the_default_is_the_specs_hour(client, board_staff):
    client.force_login(board_staff)

    form = client.get("/admin/policy/policy/add/?preset=default")
    in_force = client.get(f"/admin/policy/policy/{Policy.objects.get().pk}/change/")

    for page in (form, in_force):
        one_hour = page.context["preview"][0]
        assert (one_hour.hours, one_hour.paid) == (1, Decimal("14.004438"))
    assert b'name="_preview"' in form.content
    assert b'name="_preview"' not in in_force.content  # in force: nothing to preview
    assert b"from hour" not in in_force.content  # compounding: no tiers to show


def test_a_preview_after_a_mistake_waits_for_the_correction(client, board_staff, tomorrow):
    client.force_login(board_staff)

    response = client.post(
        "/admin/policy/policy/add/",
        version(tomorrow, multiplier="-1", _preview="Preview"),
    )

    assert response.context["preview"] is None
    assert b"Correct what is marked above to see the preview." in response.content


SAVED_AT = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)  # 14:30 India time


@pytest.mark.parametrize("seconds_back", [1, 30, 59])
def test_a_version_cannot_start_even_seconds_before_it_is_saved(
    client, board_staff, time_machine, seconds_back
):
    time_machine.move_to(SAVED_AT, tick=False)
    client.force_login(board_staff)
    start = timezone.localtime(SAVED_AT - timedelta(seconds=seconds_back))

    response = client.post("/admin/policy/policy/add/", version(start, multiplier="0"))

    assert response.status_code == 200
    assert "applies forward only" in response.content.decode()
    assert not Policy.objects.filter(name="Next version").exists()


def test_a_version_may_start_the_moment_it_is_saved(client, board_staff, time_machine):
    time_machine.move_to(SAVED_AT, tick=False)
    client.force_login(board_staff)

    response = client.post("/admin/policy/policy/add/", version(timezone.localtime(SAVED_AT)))

    assert response.status_code == 302, response.content
    saved = Policy.objects.get(name="Next version")
    assert saved.effective_from == saved.created_at == SAVED_AT


def test_a_start_that_passes_while_the_admin_saves_is_refused_without_a_500(
    client, board_staff, time_machine, monkeypatch
):
    """Checked at SAVED_AT, saved a second later: the admin's save refuses it too."""
    time_machine.move_to(SAVED_AT, tick=False)
    client.force_login(board_staff)
    checked = PolicyAdmin.save_form

    def a_second_later(self, request, form, change):
        time_machine.shift(1)
        return checked(self, request, form, change)

    monkeypatch.setattr(PolicyAdmin, "save_form", a_second_later)

    response = client.post(
        "/admin/policy/policy/add/", version(timezone.localtime(SAVED_AT)), follow=True
    )

    assert response.status_code == 200
    assert "applies forward only" in response.content.decode()
    assert not Policy.objects.filter(name="Next version").exists()


def test_moving_a_future_version_into_the_past_is_refused(client, board_staff, time_machine):
    time_machine.move_to(SAVED_AT, tick=False)
    later = Policy.objects.create(name="Later", effective_from=SAVED_AT + timedelta(days=1))
    client.force_login(board_staff)

    response = client.post(
        f"/admin/policy/policy/{later.pk}/change/",
        version(timezone.localtime(SAVED_AT - timedelta(seconds=30)), name="Later"),
    )

    assert response.status_code == 200
    assert "applies forward only" in response.content.decode()
    later.refresh_from_db()
    assert later.effective_from == SAVED_AT + timedelta(days=1)


def test_the_model_refuses_a_version_starting_before_now(time_machine):
    time_machine.move_to(SAVED_AT, tick=False)
    backdated = Policy(name="Backdated", effective_from=SAVED_AT - timedelta(seconds=1))

    with pytest.raises(ValidationError) as refused:
        backdated.full_clean()

    assert "applies forward only" in str(refused.value.message_dict["effective_from"])
    Policy(name="From now", effective_from=SAVED_AT).full_clean()  # now itself is fine


@pytest.mark.parametrize(
    "max_gap, silence, error",
    [
        ("86400", "86400", "At most 600"),
        ("601", "900", "At most 600"),
        ("400", "300", "At most the silence timeout"),
    ],
)
def test_max_gap_is_at_most_ten_minutes_and_the_silence_timeout(
    client, board_staff, tomorrow, max_gap, silence, error
):
    client.force_login(board_staff)

    response = client.post(
        "/admin/policy/policy/add/",
        version(tomorrow, max_gap_seconds=max_gap, silence_timeout_seconds=silence),
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Policy.objects.filter(name="Next version").exists()
    generous = Policy(
        name="x",
        effective_from=tomorrow,
        max_gap_seconds=int(max_gap),
        silence_timeout_seconds=int(silence),
    )
    with pytest.raises(ValidationError) as refused:
        generous.full_clean()
    assert error in str(refused.value.message_dict["max_gap_seconds"])


def test_max_gap_may_be_ten_minutes_with_a_silence_timeout_as_long(client, board_staff, tomorrow):
    client.force_login(board_staff)

    response = client.post(
        "/admin/policy/policy/add/",
        version(tomorrow, max_gap_seconds="600", silence_timeout_seconds="600"),
    )

    assert response.status_code == 302
    assert Policy.objects.get(name="Next version").max_gap_seconds == 600


def test_the_policys_admin_pages_before_its_app_redirect_there(client, board_staff):
    client.force_login(board_staff)
    response = client.get("/admin/payouts/policy/add/?preset=delhi")
    assert response.status_code == 301
    assert response["Location"] == "/admin/policy/policy/add/?preset=delhi"
    assert client.get(response["Location"]).status_code == 200
