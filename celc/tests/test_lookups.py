"""Values past what a column holds: never a 500, and they match what they mean (celc.lookups,
common.fields.exact_param, common.admin.DatesCheckedChangeList)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings

from common.fields import exact_param
from payouts.models import LedgerEntry

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past what a 64-bit integer holds


@pytest.fixture
def superuser(django_user_model, client):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")
    client.force_login(user)
    return user


@override_settings(DEBUG=False)
@pytest.mark.parametrize(
    "url",
    [
        "/admin/payouts/payout/?amount__gt=1e999999",
        "/admin/payouts/payout/?amount__lt=-1e999999",
        "/admin/payouts/payout/?amount=1e30",
        "/admin/payouts/ledgerentry/?amount__gte=1E+100000",
        "/admin/devices/outage/?started_at__year=99999999999",
        "/admin/devices/outage/?started_at__year=10000",
        "/admin/devices/outage/?started_at__year=9999",
        "/admin/devices/outage/?started_at__year=9999&started_at__month=12",
        "/admin/devices/outage/?started_at__year=1",
        "/admin/payouts/ledgerentry/?created_at__year=99999999999",
        "/admin/axes/accessattempt/?attempt_time__year=99999999999",
        "/admin/devices/outage/?last_tick_at__year__gte=99999999999",
        "/admin/devices/outage/?last_tick_at__year=1",
        "/admin/devices/outage/?started_at__year__gt=0",
        "/admin/devices/outage/?started_at__year__lte=-5",
        f"/admin/devices/outage/?id={HUGE}",
        f"/admin/devices/outage/?device__id__in=1,{HUGE}",
        f"/admin/devices/outage/?device__in=1,{HUGE}",
        f"/admin/devices/outage/?id__range=1,{HUGE}",
        "/admin/payouts/payout/?amount__range=1,1e999999",
        "/admin/payouts/payout/?amount__in=1,1e999999",
        f"/admin/devices/device/add/?household={HUGE}",
        f"/admin/devices/device/add/?area={HUGE}",
        f"/admin/devices/device/?household__id__exact={HUGE}",
        f"/admin/payouts/ledgerentry/?household={HUGE}",
    ],
)
def test_no_out_of_range_value_in_a_query_string_makes_a_500(client, superuser, url):
    response = client.get(url)

    assert response.status_code in (200, 302, 400), response.status_code


def test_values_past_a_columns_range_match_what_they_mean(alice, bob):
    users = get_user_model().objects
    huge = int(HUGE)
    LedgerEntry.objects.create(household=alice, kind="adjustment", amount=Decimal("1.50"))
    entries = LedgerEntry.objects

    assert list(users.filter(pk__in=[alice.pk, huge]).values_list("username", flat=True)) == [
        "alice"
    ]
    assert not users.filter(pk__in=[huge, -huge]).exists()
    assert users.filter(pk__range=(-huge, huge)).count() == 2
    assert not users.filter(pk__range=(huge, huge + 1)).exists()
    assert entries.filter(household=huge).count() == 0
    assert entries.filter(household__lt=huge).count() == 1
    assert entries.filter(household__in=[alice.pk, huge]).count() == 1
    for big in (Decimal("1e999999"), Decimal("1e8")):
        assert entries.filter(amount__lt=big).count() == 1
        assert entries.filter(amount__gt=-big).count() == 1
        assert not entries.filter(amount__gte=big).exists()
        assert not entries.filter(amount=big).exists()
        assert entries.filter(amount__in=[Decimal("1.50"), big]).count() == 1
        assert entries.filter(amount__range=(-big, big)).count() == 1
    assert entries.filter(created_at__year__gt=0).count() == 1
    assert entries.filter(created_at__year__lt=99999999999).count() == 1
    assert not entries.filter(created_at__year=99999999999).exists()
    ist = timezone(timedelta(hours=5, minutes=30))
    assert entries.filter(created_at__gt=datetime(1, 1, 1, tzinfo=ist)).count() == 1
    assert not entries.filter(created_at__gt=datetime(9999, 12, 31, 23, tzinfo=UTC)).exists()


@pytest.mark.parametrize(
    "amount", [Decimal("1e999999"), Decimal("-1e30"), Decimal("1e8"), Decimal("NaN"), "Infinity"]
)
def test_exact_param_refuses_what_no_money_column_holds(amount):
    with pytest.raises(ValueError, match="out of the range"):
        exact_param(connection, amount)


def test_exact_param_gives_what_the_column_holds():
    expected = 99_999_999_999_999 if connection.vendor == "sqlite" else Decimal("99999999.999999")
    assert exact_param(connection, Decimal("99999999.999999")) == expected
