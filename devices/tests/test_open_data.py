"""The open-data CSV: interruptions per area and day, worked out by hand, no household identity."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from devices.ingest import store_ticks
from devices.models import Area
from devices.protocol import Tick

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)  # 09:00 on 27 November, India time


def cut(device, start: int, length: int, seq0: int = 1) -> None:
    """Off ticks every second from T0 + start, power back at T0 + start + length."""
    at = [T0 + timedelta(seconds=start + i) for i in range(length + 1)]
    ticks = [Tick(seq=seq0 + i, ts=ts, power="off") for i, ts in enumerate(at[:-1])]
    ticks.append(Tick(seq=seq0 + length, ts=at[-1], power="on"))
    store_ticks({device.pk: ticks}, received_at=at[-1])


@pytest.fixture
def month(alice, bob, django_user_model, register_device):
    carol = django_user_model.objects.create_user("carol", password="carol-password-1")
    alice_meter, _ = register_device(alice, area_code="TN-CHN-042")
    bob_meter, _ = register_device(bob, area_code="TN-CHN-042")
    carol_meter, _ = register_device(carol, area_code="DL-SKT-007")
    cut(alice_meter, 0, 600)  # 27th: 10 minutes, sustained
    cut(bob_meter, 300, 120)  # 27th: 2 minutes inside it, momentary
    cut(carol_meter, 86_400, 240)  # 28th: 4 minutes, momentary


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_per_area_and_day_with_quiet_days_as_zeros(client, month):
    response = client.get(
        reverse("devices:open-data-outages"), {"from": "2026-11-27", "to": "2026-11-28"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "outages-by-area-2026-11-27-2026-11-28.csv" in response["Content-Disposition"]
    header, *body = rows(response)
    assert header[:4] == ["date", "area_code", "area_name", "households_with_devices"]
    chennai = Area.objects.get(code="TN-CHN-042").name
    delhi = Area.objects.get(code="DL-SKT-007").name
    # date, area, name, households, sustained, momentary, households hit, minutes, longest
    assert body == [
        ["2026-11-27", "DL-SKT-007", delhi, "1", "0", "0", "0", "0.0", "0.0"],
        ["2026-11-27", "TN-CHN-042", chennai, "2", "1", "1", "2", "10.0", "10.0"],
        ["2026-11-28", "DL-SKT-007", delhi, "1", "0", "1", "1", "0.0", "4.0"],
        ["2026-11-28", "TN-CHN-042", chennai, "2", "0", "0", "0", "0.0", "0.0"],
    ]


def test_it_names_no_household_or_device(client, month):
    text = client.get(reverse("devices:open-data-outages"), {"from": "2026-11-27"}).content.decode()

    for identity in ("alice", "bob", "carol", "Home meter", "@example.com"):
        assert identity not in text


@pytest.mark.parametrize(
    "query, reason",
    [
        ({"from": "27/11/2026"}, "YYYY-MM-DD"),
        ({"from": "2026-11-28", "to": "2026-11-27"}, "after"),
        ({"from": "2025-01-01", "to": "2026-11-28"}, "At most 366 days"),
    ],
)
def test_bad_dates_get_a_clear_400(client, query, reason):
    response = client.get(reverse("devices:open-data-outages"), query)

    assert response.status_code == 400
    assert reason in response.content.decode()
