"""Connection set-up: timestamps read exactly, in UTC; number arrays sent as one literal."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from common.db import array_literal, text_array_literal
from devices.models import Area


@pytest.mark.django_db
def test_timestamps_come_back_exact_and_in_utc(alice):
    moment = datetime(2026, 11, 28, 5, 30, 1, 123456, tzinfo=UTC)
    type(alice).objects.filter(pk=alice.pk).update(date_joined=moment)
    read = type(alice).objects.values_list("date_joined", flat=True).get(pk=alice.pk)
    assert read == moment
    assert read.utcoffset().total_seconds() == 0
    assert read.microsecond == 123456


@pytest.mark.django_db
def test_postgresql_reads_timestamps_with_psycopgs_own_loader():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's loaders")
    connection.ensure_connection()
    adapters = connection.connection.adapters
    loader = adapters.get_loader(adapters.types["timestamptz"].oid, 0)
    assert loader.__name__ == "UtcTimestamptzLoader"
    # Django's own check per cursor still finds the zone it expects.
    assert loader.timezone == connection.timezone


def test_array_literal_of_numbers():
    assert array_literal([1, 22, 333]) == "{1,22,333}"
    assert array_literal([Decimal("0.000001"), Decimal("-2.5")]) == "{0.000001,-2.5}"
    assert array_literal([]) == "{}"


@pytest.mark.django_db
def test_any_lookup_with_many_ids_finds_exactly_those():
    areas = [Area.objects.create(code=f"T-{n}", name=f"Area {n}") for n in range(5)]
    wanted = [areas[0].pk, areas[3].pk, 10**9]
    found = set(Area.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert found == {areas[0].pk, areas[3].pk}
    assert not Area.objects.filter(pk__any=[]).exists()


@pytest.mark.django_db
def test_text_array_literal_round_trips_awkward_values_through_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL arrays")
    texts = ["plain", 'with "quotes"', "back\\slash", "{braces},commas", "", None, "NULL", " sp "]
    at = datetime(2026, 11, 28, 4, 0, 0, 123456, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::timestamptz[], %s::numeric[], %s::bigint[]",
            [
                text_array_literal(texts),
                text_array_literal([at, None]),
                text_array_literal([Decimal("1.000001"), Decimal("1E+1")]),
                text_array_literal([1, 2**40]),
            ],
        )
        got_texts, got_times, got_numbers, got_ints = cursor.fetchone()
    assert got_texts == texts  # "NULL" the text stays text; None is NULL
    assert got_times == [at, None]
    assert got_numbers == [Decimal("1.000001"), Decimal("10")]
    assert got_ints == [1, 2**40]
