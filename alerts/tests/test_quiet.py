"""Quiet hours: messages wait until they end, and are still sent once; the board's area
alert does not wait."""

from datetime import UTC, datetime, time

import pytest
import time_machine

from alerts import services, tasks
from alerts.models import Delivery, DeliveryState, Preferences
from alerts.quiet import INDIA, quiet_until
from alerts.tests.conftest import heartbeat
from payouts.tests.test_accrual import at, cut

IST = INDIA


def india(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=IST)


@pytest.mark.parametrize(
    ("now", "start", "end", "until"),
    [
        # Across midnight: 22:00 to 07:00.
        (india(31, 23, 30), time(22), time(7), datetime(2027, 1, 1, 7, tzinfo=IST)),
        (india(31, 22, 0), time(22), time(7), datetime(2027, 1, 1, 7, tzinfo=IST)),
        (india(1, 6, 59), time(22), time(7), india(1, 7)),
        (india(1, 7, 0), time(22), time(7), None),
        (india(1, 21, 59), time(22), time(7), None),
        (india(1, 12), time(22), time(7), None),
        # Within a day: 13:00 to 15:00.
        (india(1, 13), time(13), time(15), india(1, 15)),
        (india(1, 14, 59), time(13), time(15), india(1, 15)),
        (india(1, 15), time(13), time(15), None),
        (india(1, 12, 59), time(13), time(15), None),
        # No stretch at all.
        (india(1, 13), time(13), time(13), None),
    ],
)
def test_quiet_hours_hold_until_their_end_in_india_time(now, start, end, until):
    assert quiet_until(now.astimezone(UTC), start, end) == until


def test_a_leap_day_night_ends_on_the_first_of_march():
    now = datetime(2028, 2, 29, 23, 0, tzinfo=IST)
    assert quiet_until(now, time(22), time(6)) == datetime(2028, 3, 1, 6, tzinfo=IST)


def run(moment):
    with time_machine.travel(moment, tick=False):
        return tasks.scan_and_send()


@pytest.mark.django_db
def test_a_message_in_quiet_hours_waits_until_they_end_and_is_sent_once(
    smtp, alice, register_device
):
    # at(0) is 09:00 in India; the silence is news at 09:03, in quiet hours till 09:10.
    Preferences.objects.create(household=alice, quiet_start=time(8, 30), quiet_end=time(9, 10))
    heartbeat(register_device(alice)[0], 0)

    run(at(181))
    run(at(599))
    assert smtp.messages == []
    assert Delivery.objects.get().not_before == at(600)

    run(at(600))
    run(at(615))

    (message,) = smtp.messages
    assert message["Subject"] == "Your device Home meter has stopped reporting"


@pytest.mark.django_db
def test_a_device_back_before_its_silence_was_sent_is_not_news(smtp, alice, register_device):
    Preferences.objects.create(household=alice, quiet_start=time(8, 30), quiet_end=time(9, 10))
    home = register_device(alice)[0]
    heartbeat(home, 0)
    run(at(181))
    heartbeat(home, 500, seq=2)

    run(at(501))
    run(at(600))  # the quiet hours end (and it has not been silent for long again)

    assert smtp.messages == []
    assert Delivery.objects.get().state == DeliveryState.SKIPPED


@pytest.mark.django_db
def test_the_boards_area_alert_is_urgent_and_ignores_quiet_hours(
    smtp, settings, alice, board_staff, register_device
):
    settings.CELC_ALERT_AREA_OUT_MINUTES = 30
    Preferences.objects.create(household=board_staff, quiet_start=time(0), quiet_end=time(23, 59))
    cut(register_device(alice)[0], 0, 1810, power_back=False)

    run(at(1810))

    assert [m["To"] for m in smtp.messages] == ["board@example.com"]


@pytest.mark.django_db
def test_clearing_quiet_hours_sends_what_they_held_at_the_next_run(smtp, alice, register_device):
    prefs = Preferences.objects.create(
        household=alice, quiet_start=time(8, 30), quiet_end=time(12, 0)
    )
    heartbeat(register_device(alice)[0], 0)
    run(at(181))
    assert smtp.messages == []

    with time_machine.travel(at(300), tick=False):
        prefs.quiet_start = prefs.quiet_end = None
        services.preferences_save(preferences=prefs)
    run(at(315))

    (message,) = smtp.messages
    assert message["Subject"] == "Your device Home meter has stopped reporting"
