"""The vectors the page's port is checked on are what the Python computes, and the quote's
wire form (compensation.py's *_to_json / *_from_json) reads back exactly what it wrote."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from policy.compensation import (
    OutageFacts,
    Terms,
    facts_from_json,
    facts_to_json,
    terms_from_json,
    terms_to_json,
)
from policy.tests import compensation_vectors as vectors

CASES = vectors.generate()


def test_the_committed_vectors_are_what_the_python_computes():
    committed = vectors.PATH.read_text().splitlines()
    generated = vectors.render(CASES).splitlines()

    differing = next(
        (n for n, (a, b) in enumerate(zip(committed, generated, strict=False)) if a != b), None
    )
    assert differing is None and len(committed) == len(generated), (
        f"vectors/compensation.json differs from the Python's cases (line {differing}): "
        "run `python -m policy.tests.compensation_vectors` and look at the diff"
    )


def test_the_vectors_cover_what_the_money_does():
    covered = vectors.coverage(CASES)

    assert len(CASES) >= 1000
    wanted = [
        "compounding", "tiers", "grace", "escalation 0", "escalation",
        "cap per outage binds", "cap per month binds", "outages reach the month cap together",
        "month cap lowered later", "month cap raised later",
        "planned window", "planned unpaid seconds", "exemption window", "exemptions pay",
        "policy change mid-outage", "value change mid-outage", "silences", "ongoing",
        "across a month's end", "microseconds",
        "at before the cut", "at during the cut", "at after the cut",
        "still growing true", "still growing false",
    ]  # fmt: skip
    assert {tag: covered.get(tag, 0) for tag in wanted if covered.get(tag, 0) < 20} == {}
    assert vectors.PATH.stat().st_size < 2_000_000


def test_every_vector_reads_back_to_the_same_values_and_json():
    for case in CASES:
        for data in [case.get("facts"), *case.get("outages", [])]:
            if data is not None:
                facts = facts_from_json(data)
                assert facts_to_json(facts) == data
                assert facts_from_json(facts_to_json(facts)) == facts
        for data in [case.get("terms"), *case.get("policies", [])]:
            if data is not None:
                terms = terms_from_json(data)
                assert terms_to_json(terms) == data
                assert terms_from_json(terms_to_json(terms)) == terms


def test_the_wire_form_of_an_outage_and_a_version():
    india = ZoneInfo("Asia/Kolkata")
    start = datetime(2026, 11, 30, 23, 30, 0, 1, tzinfo=india)
    facts = OutageFacts(
        7,
        3,
        start,
        Decimal("0.0006944444444444444444444444444"),
        ((start, start + timedelta(seconds=90)),),
        updated_at=None,
        ongoing=True,
        windows=((start, start + timedelta(hours=1), "planned", 4),),
        value_changes=((start + timedelta(seconds=30), Decimal("1E-3")),),
    )
    terms = Terms(
        effective_from=datetime(2027, 1, 1, tzinfo=timezone(timedelta(hours=-3))),
        kind="tiers",
        tiers=((Decimal(0), Decimal(0)), (Decimal("1.5"), Decimal("50.25"))),
        cap_per_month=Decimal("1E+4"),
        id=2,
        name="Delhi",
    )

    facts_json, terms_json = facts_to_json(facts), terms_to_json(terms)

    assert facts_json == {
        "id": 7,
        "household_id": 3,
        "started_at": "2026-11-30T23:30:00.000001+05:30",
        "value_per_second": "0.0006944444444444444444444444444",
        "intervals": [["2026-11-30T23:30:00.000001+05:30", "2026-11-30T23:31:30.000001+05:30"]],
        "updated_at": None,
        "ongoing": True,
        "windows": [
            ["2026-11-30T23:30:00.000001+05:30", "2026-12-01T00:30:00.000001+05:30", "planned", 4]
        ],
        "value_changes": [["2026-11-30T23:30:30.000001+05:30", "0.001"]],
    }
    assert terms_json["effective_from"] == "2027-01-01T00:00:00.000000-03:00"
    assert terms_json["tiers"] == [["0", "0"], ["1.5", "50.25"]]
    assert terms_json["cap_per_month"] == "10000"  # plain digits, never an exponent
    assert facts_from_json(facts_json) == facts
    assert terms_from_json(terms_json) == terms


def test_an_instant_without_its_offset_has_no_wire_form():
    naive = datetime(2026, 11, 30, 18, 0)
    facts = OutageFacts(1, 1, naive.replace(tzinfo=UTC), Decimal(1), ((naive, naive),))

    with pytest.raises(ValueError, match="offset"):
        facts_to_json(facts)
