from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.outages import (
    ENDED,
    ONGOING,
    DeviceState,
    MaxGaps,
    apply_ticks,
    reference_witnessed,
    seconds,
)
from devices.protocol import Tick

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
MAX_GAP = timedelta(seconds=120)


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


def ticks(*rows):
    return [Tick(seq=seq, ts=at(second), power=power) for seq, second, power in rows]


def test_a_cut_is_witnessed_tick_to_tick_and_ends_at_the_on_tick():
    state = DeviceState()

    (outage,) = apply_ticks(
        state,
        ticks((1, 0, "on"), (2, 10, "off"), (3, 11, "off"), (4, 12.5, "off"), (5, 13, "on")),
        MAX_GAP,
    )

    assert outage.started_at == at(10) and outage.ended_at == at(13)
    assert outage.status == ENDED
    assert outage.witnessed_seconds == Decimal("3.000000")
    assert outage.ticks_received == 3
    assert (outage.first_seq, outage.last_seq) == (2, 5)
    assert outage.closed_intervals == [(at(10), at(13))]
    assert state.outage is None and state.power == "on" and state.last_seq == 5


def test_a_silence_longer_than_max_gap_is_a_gap_and_is_not_paid():
    state = DeviceState()

    (outage,) = apply_ticks(
        state, ticks((1, 0, "off"), (2, 1, "off"), (3, 200, "off"), (4, 201, "off")), MAX_GAP
    )

    assert outage.witnessed_seconds == Decimal("2.000000")
    assert outage.gaps == 1 and outage.max_gap_seen == Decimal("199.000000")
    assert outage.closed_intervals == [(at(0), at(1))]
    assert outage.open_interval_start == at(200) and outage.last_tick_at == at(201)
    assert outage.status == ONGOING


def test_each_silence_is_judged_by_the_max_gap_in_force_when_it_began():
    """120 s until second 1,000, 600 s from then: a silence counts by the rule of its first tick,
    whatever the rule when the ticks arrive."""
    rules = MaxGaps(((at(-86400), timedelta(seconds=120)), (at(1000), timedelta(seconds=600))))
    stream = ticks(
        (1, 0, "off"),
        (2, 500, "off"),  # 500 s from second 0: a gap under 120 s
        (3, 990, "off"),  # 490 s from second 500: a gap
        (4, 1010, "off"),  # 20 s: witnessed
        (5, 1420, "off"),  # 410 s from second 1,010: witnessed under 600 s
        (6, 1421, "on"),
    )

    (outage,) = apply_ticks(DeviceState(), stream, rules)

    assert outage.witnessed_seconds == Decimal("431.000000") and outage.gaps == 2
    assert outage.closed_intervals == [(at(990), at(1421))]
    assert reference_witnessed(stream, rules) == (Decimal("431.000000"), 1)
    assert rules(at(-(10**6))) == rules(at(999)) == timedelta(seconds=120)  # before the first too
    assert rules(at(1000)) == timedelta(seconds=600)


def test_duplicates_and_replays_count_once():
    state = DeviceState()
    stream = ticks((1, 0, "off"), (2, 1, "off"), (3, 2, "off"))

    apply_ticks(state, stream, MAX_GAP)
    again = apply_ticks(state, stream, MAX_GAP)

    assert again == []
    assert state.outage.witnessed_seconds == Decimal("2.000000")


def test_a_clock_that_jumps_back_neither_counts_twice_nor_goes_negative():
    state = DeviceState()

    (outage,) = apply_ticks(
        state, ticks((1, 100, "off"), (2, 101, "off"), (3, 50, "off"), (4, 102, "off")), MAX_GAP
    )

    assert outage.witnessed_seconds == Decimal("2.000000")


def test_a_new_cut_after_power_returns_is_a_new_outage():
    state = DeviceState()

    first, second = apply_ticks(
        state, ticks((1, 0, "off"), (2, 1, "on"), (3, 5, "off"), (4, 6, "off")), MAX_GAP
    )

    assert first.status == ENDED and first.witnessed_seconds == Decimal("1.000000")
    assert second.status == ONGOING and second.started_at == at(5)
    assert state.outage is second


def test_a_device_that_starts_on_has_no_outage():
    state = DeviceState()

    assert apply_ticks(state, ticks((1, 0, "on"), (2, 60, "on")), MAX_GAP) == []
    assert state.power == "on"


# A device's life: seconds between ticks (some long), power flips, the clock
# sometimes jumping back, and the stream cut into deliveries that repeat
# earlier parts (replays) and duplicate single ticks.
steps = st.lists(
    st.tuples(
        st.sampled_from([1, 1, 1, 1, 0.5, 2, 30, 119, 120, 121, 400]),
        st.sampled_from(["off", "off", "off", "on"]),
        st.sampled_from([0, 0, 0, 0, -30, -1]),  # clock jump
    ),
    min_size=1,
    max_size=80,
)


@st.composite
def deliveries(draw):
    rows = draw(steps)
    stream, now, seq = [], 0.0, draw(st.integers(min_value=0, max_value=10))
    for delay, power, jump in rows:
        now += delay
        seq += draw(st.sampled_from([1, 1, 1, 2, 7]))
        stream.append(Tick(seq=seq, ts=at(now + jump), power=power))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    chunks, start = [], 0
    for cut in [*cuts, len(stream)]:
        chunks.append(stream[start:cut])
        start = cut
    sent = []
    for chunk in chunks:
        sent.append(chunk)
        if chunk and draw(st.booleans()):
            back = draw(st.integers(1, len(chunk)))
            sent.append(chunk[-back:])  # a replay of what was already sent
    return stream, sent


@settings(max_examples=300)
@given(deliveries())
def test_any_stream_gives_exactly_the_witnessed_time_of_the_reference_model(delivery):
    stream, sent = delivery
    state = DeviceState()
    outages = {}

    for chunk in sent:
        for outage in apply_ticks(state, chunk, MAX_GAP):
            outages[id(outage)] = outage

    expected_total, expected_count = reference_witnessed(
        [t for chunk in sent for t in chunk], MAX_GAP
    )
    assert sum(o.witnessed_seconds for o in outages.values()) == expected_total
    assert len(outages) == expected_count
    assert state.last_seq == stream[-1].seq
    for outage in outages.values():
        intervals = list(outage.closed_intervals)
        if outage.open_interval_start is not None:
            intervals.append((outage.open_interval_start, outage.last_tick_at))
        # The intervals are the witnessed time, in order, never overlapping.
        assert sum(seconds(end - start) for start, end in intervals) == outage.witnessed_seconds
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(intervals))
        assert all(
            outage.started_at <= start < end <= outage.last_tick_at for start, end in intervals
        )
