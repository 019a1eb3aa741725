import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.protocol import (
    MAX_FRAME_BYTES,
    TokenBucket,
    frame_too_large,
    parse_frame,
    parse_ts,
)

NOW = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))


def tick(seq=1, ts="2026-11-27T09:00:01.250+05:30", power="off", **extra):
    return {"type": "tick", "seq": seq, "ts": ts, "power": power, **extra}


def codes(parsed):
    return [error.code for error in parsed.errors]


def test_it_reads_a_tick():
    parsed = parse_frame(json.dumps(tick()), NOW)

    assert not parsed.errors
    (only,) = parsed.ticks
    assert only.seq == 1 and only.power == "off"
    assert only.ts == datetime(2026, 11, 27, 9, 0, 1, 250000, tzinfo=IST)


def test_it_ignores_fields_it_does_not_know():
    assert parse_frame(json.dumps(tick(firmware="1.2.3")), NOW).ticks


@pytest.mark.parametrize("frame", ["{", "not json", b"\xff\xfe", "[" * 100000])
def test_it_answers_bad_json(frame):
    assert codes(parse_frame(frame, NOW)) == ["bad_json"]


@pytest.mark.parametrize(
    "message",
    [
        [],
        {"type": "ping"},
        tick(seq=-1),
        tick(seq=2**63),
        tick(seq=1.0),
        tick(seq=True),
        tick(seq="1"),
        tick(ts="2026-11-27T09:00:01"),  # no offset
        tick(ts="2026-11-27"),
        tick(ts="2026-13-27T09:00:01Z"),
        tick(ts=1764214201),
        tick(power="OFF"),
        tick(power=None),
        {"type": "tick", "seq": 1, "ts": "2026-11-27T03:30:00Z"},
        {"type": "batch"},
        {"type": "batch", "ticks": []},
        {"type": "batch", "ticks": [tick(seq=2), tick(seq=2)]},
        {"type": "batch", "ticks": [tick(seq=3), tick(seq=2)]},
        {"type": "batch", "ticks": [tick(seq=n) for n in range(1001)]},
        {"type": "batch", "ticks": [tick(seq=1), "x"]},
    ],
)
def test_it_answers_bad_message_and_keeps_nothing(message):
    parsed = parse_frame(json.dumps(message), NOW)

    assert codes(parsed) == ["bad_message"]
    assert parsed.ticks == ()


def test_it_accepts_a_full_batch_of_a_thousand():
    batch = {"type": "batch", "ticks": [tick(seq=n) for n in range(1000)]}

    assert len(parse_frame(json.dumps(batch), NOW).ticks) == 1000


def test_it_refuses_ticks_from_a_clock_ahead_by_more_than_300_seconds():
    ahead = (NOW + timedelta(seconds=412)).isoformat()

    parsed = parse_frame(json.dumps(tick(seq=1042, ts=ahead)), NOW)

    (error,) = parsed.errors
    assert (error.code, error.seq) == ("clock_skew", 1042)
    assert error.as_frame() == {
        "type": "error",
        "code": "clock_skew",
        "detail": "ts is 412 s ahead of server time",
        "seq": 1042,
    }
    assert parse_frame(json.dumps(tick(ts=(NOW + timedelta(seconds=299)).isoformat())), NOW).ticks


def test_it_refuses_ticks_older_than_72_hours():
    old = (NOW - timedelta(hours=72, seconds=1)).isoformat()

    assert codes(parse_frame(json.dumps(tick(ts=old)), NOW)) == ["too_old"]
    assert parse_frame(json.dumps(tick(ts=(NOW - timedelta(hours=71)).isoformat())), NOW).ticks


def test_it_refuses_ticks_from_before_the_device_was_registered():
    registered = NOW - timedelta(hours=1)
    before = (registered - timedelta(seconds=1)).isoformat()
    batch = {"type": "batch", "ticks": [tick(seq=1, ts=before), tick(seq=2)]}

    parsed = parse_frame(json.dumps(batch), NOW, not_before=registered)

    assert parsed.ticks == ()
    assert [(e.code, e.seq) for e in parsed.errors] == [("too_old", 1)]
    assert parse_frame(
        json.dumps(tick(ts=registered.isoformat())), NOW, not_before=registered
    ).ticks


def test_a_batch_with_one_bad_time_stores_none_of_it_and_names_each_bad_tick():
    old = (NOW - timedelta(hours=80)).isoformat()
    batch = {"type": "batch", "ticks": [tick(seq=1, ts=old), tick(seq=2), tick(seq=3, ts=old)]}

    parsed = parse_frame(json.dumps(batch), NOW)

    assert parsed.ticks == ()
    assert [(e.code, e.seq) for e in parsed.errors] == [("too_old", 1), ("too_old", 3)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-27T09:00:01Z", datetime(2026, 11, 27, 9, 0, 1, tzinfo=UTC)),
        ("2026-11-27t09:00:01z", datetime(2026, 11, 27, 9, 0, 1, tzinfo=UTC)),
        (
            "2026-11-27 09:00:01.123456789-01:00",
            datetime(2026, 11, 27, 10, 0, 1, 123456, tzinfo=UTC),
        ),
    ],
)
def test_it_reads_rfc_3339_times(text, expected):
    assert parse_ts(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2026-11-27T09:00:01Z\n", "2026-11-27T09:00:01.250+05:30\n", "2026-11-27T09:00:01Z\r\n"],
)
def test_a_time_with_a_line_end_after_it_is_a_bad_message(text):
    assert parse_ts(text) is None
    assert codes(parse_frame(json.dumps(tick(ts=text)), NOW)) == ["bad_message"]


def test_it_measures_frames_in_utf8_bytes():
    assert not frame_too_large("a" * MAX_FRAME_BYTES)
    assert frame_too_large("a" * (MAX_FRAME_BYTES + 1))
    assert frame_too_large("₹" * (MAX_FRAME_BYTES // 3 + 1))  # 3 bytes each


def test_the_rate_limit_allows_bursts_but_not_more_than_20_a_second_sustained():
    bucket = TokenBucket(rate=20, burst=40, now=0.0)

    assert all(bucket.take(0.0) for _ in range(40))
    assert not bucket.take(0.0)
    # Sustained 20 a second is fine forever.
    assert all(bucket.take(1 + n / 20) for n in range(200))
    # 25 a second drains the burst and then fails.
    results = [bucket.take(20 + n / 25) for n in range(500)]
    assert not all(results)


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_no_frame_makes_the_parser_raise(frame):
    parsed = parse_frame(frame, NOW)

    assert bool(parsed.ticks) != bool(parsed.errors)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["tick", "batch", "x"])},
        optional={
            "seq": json_values | st.integers(min_value=-5, max_value=2**64),
            "ts": json_values | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
            "power": json_values | st.sampled_from(["on", "off"]),
            "ticks": json_values,
        },
    )
)
def test_no_message_makes_the_parser_raise_and_a_rejected_one_yields_no_tick(message):
    parsed = parse_frame(json.dumps(message), NOW)

    assert bool(parsed.ticks) != bool(parsed.errors)
    for error in parsed.errors:
        assert error.code in {"bad_message", "clock_skew", "too_old"}
