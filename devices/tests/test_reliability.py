"""Corroboration and reliability indices on a constructed month, worked out by hand."""

from datetime import UTC, datetime
from decimal import Decimal

from devices.reliability import (
    CONTRADICTED,
    CORROBORATED,
    SINGLE_HOUSEHOLD,
    UNCORROBORATED,
    OnReport,
    Span,
    corroboration,
    indices,
    interruptions,
)


def t(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


NOVEMBER = (t(1, 0), t(1, 0, month=12))

# Area A: households 1 (device 1), 2 (devices 2 and 3), 3 (device 4). Area B: household 4
# (device 5), its only device.
A_OFF = {
    "d1 morning": Span(1, 1, "A", t(3, 10), t(3, 11)),  # 60 min, sustained
    "d2": Span(2, 2, "A", t(3, 10, 30), t(3, 10, 40)),  # household 2: 10:30-10:50 as one,
    "d3": Span(3, 2, "A", t(3, 10, 35), t(3, 10, 50)),  # 20 min, sustained
    "d4 blip": Span(4, 3, "A", t(3, 12), t(3, 12, 3)),  # 3 min, momentary
    "d1 five minutes": Span(1, 1, "A", t(3, 14), t(3, 14, 5)),  # exactly 5: momentary
    "d4 october": Span(4, 3, "A", t(31, 23, month=10), t(1, 1)),  # starts in October
}
B_OFF = Span(5, 4, "B", t(4, 9), t(4, 9, 6))  # 6 min, sustained
ON_REPORTS = [
    OnReport(1, "A", t(3, 12, 1)),  # device 1 had power during device 4's blip
    OnReport(4, "A", t(3, 14, 2)),  # device 4 had power during device 1's five minutes
]


def test_two_devices_of_one_household_off_together_are_one_interruption():
    merged = [i for i in interruptions(A_OFF.values()) if i.household == 2]

    assert [(i.start, i.end) for i in merged] == [(t(3, 10, 30), t(3, 10, 50))]


def test_area_a_indices_for_november():
    # Sustained: household 1 for 60 min, household 2 for 20 min -> 80 customer minutes.
    # Momentary: household 3 (3 min) and household 1 (exactly 5 min is not over 5).
    # October's interruption starts before the month and is not November's.
    # Customers served: 3 households.
    got = indices(A_OFF.values(), customers=3, period_start=NOVEMBER[0], period_end=NOVEMBER[1])

    assert got.sustained == 2 and got.momentary == 2
    assert got.customer_minutes == Decimal("80.0000")
    assert got.saidi == Decimal("26.6667")  # 80 / 3
    assert got.saifi == Decimal("0.6667")  # 2 / 3
    assert got.caidi == Decimal("40.0000")  # 80 / 2
    assert got.maifi == Decimal("0.6667")  # 2 / 3


def test_area_b_and_an_area_with_nothing():
    got = indices([B_OFF], customers=1, period_start=NOVEMBER[0], period_end=NOVEMBER[1])
    assert (got.saidi, got.saifi, got.caidi, got.maifi) == (
        Decimal("6.0000"),
        Decimal("1.0000"),
        Decimal("6.0000"),
        Decimal("0.0000"),
    )

    calm = indices([], customers=5, period_start=NOVEMBER[0], period_end=NOVEMBER[1])
    assert (calm.saidi, calm.saifi, calm.caidi, calm.maifi) == (0, 0, None, 0)
    nobody = indices([], customers=0, period_start=NOVEMBER[0], period_end=NOVEMBER[1])
    assert nobody.saidi is None  # no households served: no index, not zero


def test_october_interruption_counts_whole_in_october():
    got = indices(A_OFF.values(), customers=3, period_start=t(1, 0, month=10), period_end=t(1, 0))

    assert got.sustained == 1
    assert got.customer_minutes == Decimal("120.0000")  # 23:00 to 01:00, across the month end


def test_corroboration_in_area_a():
    everyone = [*A_OFF.values(), B_OFF]

    def verdict(name, k=2):
        outage = A_OFF[name]
        return corroboration(outage, everyone, ON_REPORTS, households_in_area=3, k=k)

    # Devices 2 and 3 were off during device 1's hour: three devices, but two households
    # (2 and 3 are both household 2's): two voices.
    assert verdict("d1 morning") == CORROBORATED
    assert verdict("d1 morning", k=3) == UNCORROBORATED
    # Device 1 said its power was on at 12:01, inside device 4's blip.
    assert verdict("d4 blip") == CONTRADICTED
    # Device 4 said power on at 14:02, inside device 1's five minutes.
    assert verdict("d1 five minutes") == CONTRADICTED


def test_a_device_cannot_contradict_itself_nor_another_area():
    outage = A_OFF["d4 blip"]
    own = [OnReport(4, "A", t(3, 12, 1)), OnReport(5, "B", t(3, 12, 1))]

    assert corroboration(outage, [outage], own, households_in_area=3) == UNCORROBORATED


def test_a_single_household_area_cannot_corroborate_and_says_so():
    assert corroboration(B_OFF, [B_OFF], [], households_in_area=1) == SINGLE_HOUSEHOLD


def test_a_households_own_devices_agreeing_are_one_voice():
    # Household 2's devices 2 and 3 off together, nobody else: one household, not two.
    d2, d3 = A_OFF["d2"], A_OFF["d3"]

    assert corroboration(d2, [d2, d3], [], households_in_area=3) == UNCORROBORATED
    assert corroboration(d3, [d2, d3], [], households_in_area=3) == UNCORROBORATED
    # With household 1 off meanwhile (device 1's morning), two households: corroborated.
    assert corroboration(d2, [d2, d3, A_OFF["d1 morning"]], [], households_in_area=3) == (
        CORROBORATED
    )


def test_the_areas_only_household_cannot_corroborate_itself_with_two_devices():
    d2, d3 = A_OFF["d2"], A_OFF["d3"]

    assert corroboration(d2, [d2, d3], [], households_in_area=1) == SINGLE_HOUSEHOLD


def test_a_households_own_other_device_saying_power_on_contradicts():
    # Device 3 (household 2's other) said power on at 10:36, inside device 2's 10:30-10:40:
    # evidence, not a vote; even when the household is the area's only one.
    outage = A_OFF["d2"]
    own_other = [OnReport(3, "A", t(3, 10, 36))]

    assert corroboration(outage, [outage], own_other, households_in_area=3) == CONTRADICTED
    assert corroboration(outage, [outage], own_other, households_in_area=1) == CONTRADICTED


def test_power_back_a_little_earlier_next_door_is_no_contradiction():
    outage = A_OFF["d1 morning"]  # 10:00 to 11:00
    restored_early = [OnReport(2, "A", t(3, 10, 59, 30))]  # 30 s before device 1's end
    restored_mid = [OnReport(2, "A", t(3, 10, 58))]  # 2 minutes before

    early = corroboration(outage, [outage], restored_early, households_in_area=3)
    mid = corroboration(outage, [outage], restored_mid, households_in_area=3)

    assert (early, mid) == (UNCORROBORATED, CONTRADICTED)
