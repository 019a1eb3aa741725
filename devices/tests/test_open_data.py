"""The open-data CSV: interruptions per area and day, worked out by hand, no household identity."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import areas
from devices.ingest import store_ticks
from devices.models import Area
from devices.protocol import Tick

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)  # 09:00 on 27 November, India time
REGISTERED = T0 - timedelta(days=1)  # the devices exist from the day before
ASKED = T0 + timedelta(days=3)  # the CSV is read on 30 November


def cut(device, start: int, length: int, seq0: int = 1) -> None:
    """Off ticks every second from T0 + start, power back at T0 + start + length."""
    at = [T0 + timedelta(seconds=start + i) for i in range(length + 1)]
    ticks = [Tick(seq=seq0 + i, ts=ts, power="off") for i, ts in enumerate(at[:-1])]
    ticks.append(Tick(seq=seq0 + length, ts=at[-1], power="on"))
    store_ticks({device.pk: ticks}, received_at=at[-1])


@pytest.fixture
def month(alice, bob, django_user_model, register_device):
    """Chennai: alice, bob and dave (3 households: figures shown); Delhi: carol and erin (2:
    withheld)."""
    carol, dave, erin = (
        django_user_model.objects.create_user(name, password=f"{name}-password-1")
        for name in ("carol", "dave", "erin")
    )
    with time_machine.travel(REGISTERED, tick=False):
        alice_meter, _ = register_device(alice, area_code="TN-CHN-042")
        bob_meter, _ = register_device(bob, area_code="TN-CHN-042")
        register_device(dave, area_code="TN-CHN-042")
        carol_meter, _ = register_device(carol, area_code="DL-SKT-007")
        register_device(erin, area_code="DL-SKT-007")
    cut(alice_meter, 0, 600)  # 27th: 10 minutes, sustained
    cut(bob_meter, 300, 120)  # 27th: 2 minutes inside it, momentary
    cut(carol_meter, 86_400, 240)  # 28th: 4 minutes, momentary
    with time_machine.travel(ASKED, tick=False):
        yield


WITHHELD = ["", "", "", "", "", "", "fewer than 3 households: figures withheld"]


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
    assert header == [
        "date",
        "area_code",
        "area_name",
        "households_with_devices",
        "interruptions_sustained",
        "interruptions_momentary",
        "households_interrupted",
        "interrupted_minutes_sustained",
        "longest_interruption_minutes",
        "note",
    ]
    chennai = Area.objects.get(code="TN-CHN-042").name
    delhi = Area.objects.get(code="DL-SKT-007").name
    # date, area, name, households, sustained, momentary, households hit, minutes, longest, note
    assert body == [
        ["2026-11-27", "DL-SKT-007", delhi, *WITHHELD],
        ["2026-11-27", "TN-CHN-042", chennai, "3", "1", "1", "2", "10.0", "10.0", ""],
        ["2026-11-28", "DL-SKT-007", delhi, *WITHHELD],
        ["2026-11-28", "TN-CHN-042", chennai, "3", "0", "0", "0", "0.0", "0.0", ""],
    ]


def test_an_area_of_fewer_than_3_households_leaks_nothing_of_its_cuts(
    client, month, register_device, django_user_model
):
    carol = django_user_model.objects.get(username="carol")
    with time_machine.travel(REGISTERED, tick=False):
        register_device(carol, name="Shop meter", area_code="TN-CHN-042")  # Chennai: 4 now

    response = client.get(reverse("devices:open-data-outages"), {"from": "2026-11-28"})

    body = rows(response)[1:]
    delhi = [row for row in body if row[1] == "DL-SKT-007"]
    assert delhi and all(row[3:] == WITHHELD for row in delhi)
    # Carol's 4-minute cut in Delhi is in no other row: not in Chennai, where she is too.
    chennai_28th = next(row for row in body if row[:2] == ["2026-11-28", "TN-CHN-042"])
    assert chennai_28th[3:] == ["4", "0", "0", "0", "0.0", "0.0", ""]
    assert "4.0" not in response.content.decode()


def test_a_household_counts_only_from_the_day_its_device_is_registered(
    client, month, django_user_model, register_device
):
    frank = django_user_model.objects.create_user("frank", password="frank-password-1")
    with time_machine.travel(T0 + timedelta(days=1), tick=False):  # 28 November
        register_device(frank, area_code="DL-SKT-007")

    response = client.get(
        reverse("devices:open-data-outages"), {"from": "2026-11-26", "to": "2026-11-28"}
    )

    shown = {(row[0], row[1]): row[3:] for row in rows(response)[1:]}
    assert shown == {
        ("2026-11-26", "DL-SKT-007"): WITHHELD,
        ("2026-11-26", "TN-CHN-042"): ["3", "0", "0", "0", "0.0", "0.0", ""],
        ("2026-11-27", "DL-SKT-007"): WITHHELD,
        ("2026-11-27", "TN-CHN-042"): ["3", "1", "1", "2", "10.0", "10.0", ""],
        # Frank makes Delhi 3 households on the 28th: carol's 4-minute cut is shown.
        ("2026-11-28", "DL-SKT-007"): ["3", "0", "1", "1", "0.0", "4.0", ""],
        ("2026-11-28", "TN-CHN-042"): ["3", "0", "0", "0", "0.0", "0.0", ""],
    }


def test_days_before_any_device_are_not_listed(client, month):
    response = client.get(
        reverse("devices:open-data-outages"), {"from": "2026-11-20", "to": "2026-11-25"}
    )

    assert rows(response)[1:] == []


def test_it_names_no_household_or_device(client, month):
    text = client.get(reverse("devices:open-data-outages"), {"from": "2026-11-27"}).content.decode()

    for identity in ("alice", "bob", "carol", "dave", "erin", "Home meter", "@example.com"):
        assert identity not in text


@pytest.mark.parametrize(
    "query, reason",
    [
        ({"from": "27/11/2026"}, "YYYY-MM-DD"),
        ({"from": "2026-11-28", "to": "2026-11-27"}, "after"),
        ({"from": "2025-01-01", "to": "2026-11-28"}, "At most 366 days"),
        ({"from": "0001-01-01", "to": "0001-12-31"}, "from 2000-01-01 to 9998-12-31"),
        ({"from": "9999-01-01", "to": "9999-12-31"}, "from 2000-01-01 to 9998-12-31"),
        ({"from": "1999-12-31", "to": "2000-01-02"}, "from 2000-01-01 to 9998-12-31"),
        ({"from": "9998-12-31", "to": "9999-01-01"}, "from 2000-01-01 to 9998-12-31"),
        ({"to": "0001-01-05"}, "from 2000-01-01 to 9998-12-31"),
        ({"from": "2026-W48-5"}, "YYYY-MM-DD"),
        ({"from": "20261127"}, "YYYY-MM-DD"),
    ],
)
def test_bad_dates_get_a_clear_400(client, query, reason):
    response = client.get(reverse("devices:open-data-outages"), query)

    assert response.status_code == 400
    assert reason in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2000-01-01", "to": "2000-01-31"},
        {"from": "9998-12-01", "to": "9998-12-31"},
        {"to": "2000-01-10"},  # the default 30 days would start in 1999: from 2000-01-01
    ],
)
def test_the_first_and_last_days_that_can_be_asked_for_answer(client, query):
    response = client.get(reverse("devices:open-data-outages"), query)

    assert response.status_code == 200
    assert rows(response) == [areas.OPEN_DATA_COLUMNS]


def date_like(day) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
dates = st.dates().map(date_like) | st.sampled_from(
    ["0001-01-01", "0001-01-02", "1999-12-31", "9998-12-31", "9999-12-30", "9999-12-31"]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(since=st.none() | any_text | dates, until=st.none() | any_text | dates)
def test_no_from_or_to_makes_a_500(client, since, until):
    query = {k: v for k, v in (("from", since), ("to", until)) if v is not None}

    response = client.get(reverse("devices:open-data-outages"), query)

    assert response.status_code in {200, 400}
