"""Each kind of event, end to end: found by the beat task in the other apps' data, and sent
once by a real SMTP server on loopback, to its household only."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum

from alerts import delivery, tasks
from alerts.models import AlertEvent, Delivery, DeliveryState, EventKind, Watermark
from alerts.tests.conftest import heartbeat
from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, creation, review
from payouts.models import LedgerEntry
from payouts.tests.test_accrual import T0, at, cut
from payouts.tests.test_lifecycle import UPI_RRN, pays_to

pytestmark = pytest.mark.django_db


def run(moment):
    """What beat does at `moment`: scan, then send what is due."""
    with time_machine.travel(moment, tick=False):
        return tasks.scan_and_send()


@pytest.fixture
def home(alice, register_device):
    return register_device(alice)[0]


def test_it_tells_the_household_once_when_its_device_stops_reporting(smtp, home, bob):
    heartbeat(home, 0)

    run(at(170))  # 3 heartbeats of 60 s not yet missed
    assert smtp.messages == []
    run(at(181))
    run(at(200))  # again: nothing new

    (message,) = smtp.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Your device Home meter has stopped reporting"
    text = smtp.text(message)
    assert "Hello alice," in text
    # India time: T0 is 03:30 UTC, 09:00 in India.
    assert "since 27 November 2026, 09:00." in text
    assert smtp.to("bob@example.com") == []
    assert message.get_body(preferencelist=("html",)) is not None


def test_it_says_when_the_device_reports_again_and_a_new_silence_is_news_again(smtp, home):
    heartbeat(home, 0)
    run(at(181))
    heartbeat(home, 300, seq=2)

    run(at(301))
    run(at(320))

    assert [m["Subject"] for m in smtp.messages] == [
        "Your device Home meter has stopped reporting",
        "Your device Home meter is reporting again",
    ]
    assert "silent since 27 November 2026, 09:00, is reporting again as of" in smtp.text(
        smtp.messages[1]
    )
    run(at(300 + 181))
    assert len(smtp.messages) == 3
    assert smtp.messages[2]["Subject"] == "Your device Home meter has stopped reporting"


def test_a_cut_that_ended_says_what_it_earned_as_the_ledger_holds_it(smtp, home):
    cut(home, 0, 3600)
    run(at(3601))  # ended, but the accrual has not settled it yet: no news
    assert smtp.messages == []
    accrual.accrue(now=at(3601))

    run(at(3602))
    run(at(3700))

    held = LedgerEntry.objects.filter(outage__device=home).aggregate(s=Sum("amount"))["s"]
    assert Decimal(held) == Decimal("14.004438")
    (message,) = smtp.messages
    assert message["Subject"] == "Power cut over: ₹14.00 earned"
    assert "from 27 November 2026, 09:00 to 27 November 2026, 10:00 is over" in smtp.text(message)
    assert "It earned you ₹14.00, added to your balance." in smtp.text(message)


def test_a_payout_approved_then_paid_is_told_at_each_step(smtp, alice, home, board_staff):
    pays_to(alice)
    cut(home, 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(7200))
    with time_machine.travel(at(7300), tick=False):
        review.transition(payout.pk, "approved", board_staff)
    run(at(7310))
    with time_machine.travel(at(8000), tick=False):
        review.transition(payout.pk, "paid", board_staff, UPI_RRN)
    run(at(8010))
    run(at(8020))

    subjects = [m["Subject"] for m in smtp.to("alice@example.com")]
    assert subjects == [
        "Power cut over: ₹14.00 earned",
        "Your device Home meter has stopped reporting",  # silent since the cut ended
        f"Payout #{payout.pk} of ₹14.00 approved",
        f"Payout #{payout.pk} of ₹14.00 paid",
    ]
    approved, paid = smtp.to("alice@example.com")[2:]
    assert "it goes by UPI to alice@okbank." in smtp.text(approved)
    assert f"Its reference is {UPI_RRN}" in smtp.text(paid)
    assert smtp.to("board@example.com") == []


def test_board_staff_are_told_when_an_area_is_out_longer_than_the_threshold(
    smtp, settings, home, board_staff, bob, register_device
):
    settings.CELC_ALERT_AREA_OUT_MINUTES = 30
    neighbour = register_device(bob)[0]
    cut(home, 0, 1700, power_back=False)
    cut(neighbour, 60, 1640, power_back=False)

    run(at(1790))  # 29 min 50 s
    assert smtp.messages == []
    store_ticks(
        {d.pk: [Tick(seq=2000, ts=at(1810), power="off")] for d in (home, neighbour)},
        received_at=at(1810),
    )
    run(at(1810))
    run(at(1830))

    (message,) = smtp.messages
    assert message["To"] == "board@example.com"
    assert message["Subject"] == "Area TN-CHN-042 has been out for over 30 minutes"
    assert (
        "2 devices in area TN-CHN-042 have been without power since 27 November 2026, 09:00."
        in (smtp.text(message))
    )
    # Households are not told of their area; each is told of its own device's silence only.
    assert smtp.to("alice@example.com") == []


def test_the_same_stretch_out_is_told_once_even_as_its_oldest_cut_ends(
    smtp, home, board_staff, bob, register_device
):
    neighbour = register_device(bob)[0]
    cut(home, 0, 1900, power_back=False)
    cut(neighbour, 600, 1300, power_back=False)
    run(at(1901))
    assert len(smtp.to("board@example.com")) == 1
    # The first cut ends; the area is still out (the neighbour's), since its start.
    store_ticks({home.pk: [Tick(seq=5000, ts=at(2000), power="on")]}, received_at=at(2000))
    store_ticks({neighbour.pk: [Tick(seq=5000, ts=at(2500), power="off")]}, received_at=at(2500))

    run(at(2501))

    assert len(smtp.to("board@example.com")) == 1


def test_nothing_before_alerts_were_switched_on_is_told(smtp, alice, home, board_staff):
    """A first migrate on a database with history emails nobody about its past."""
    pays_to(alice)
    cut(home, 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(7200))
    with time_machine.travel(at(7300), tick=False):
        review.transition(payout.pk, "approved", board_staff)
    Watermark.objects.filter(pk=1).update(since=at(7400))

    run(at(7410))

    assert smtp.messages == []
    assert AlertEvent.objects.count() == 0


def test_a_tamil_household_is_written_to_in_tamil(smtp, alice, home):
    alice.language = "ta"
    alice.save()
    cut(home, 0, 3600)
    accrual.accrue(now=at(3601))

    run(at(3602))

    (message,) = smtp.messages
    # Folded as Django encodes long non-ASCII subjects: the folding space is not the subject's.
    assert message["Subject"].strip() == "மின்வெட்டு முடிந்தது: ₹14.00 ஈட்டப்பட்டது"
    text = smtp.text(message)
    assert "வணக்கம் alice," in text
    assert "27 நவம்பர் 2026, 09:00" in text
    assert "Power cut" not in text


def test_a_hindi_household_is_written_to_in_hindi(smtp, alice, home):
    alice.language = "hi"
    alice.save()
    heartbeat(home, 0)

    run(at(181))

    (message,) = smtp.messages
    assert "Home meter" in message["Subject"] and "device" not in message["Subject"]
    assert "नमस्ते alice," in smtp.text(message)


def test_a_household_without_email_or_that_turned_a_kind_off_gets_none(smtp, alice, home):
    from alerts.models import Preferences

    Preferences.objects.create(household=alice, devices=False)
    heartbeat(home, 0)
    cut(home, 100, 3600)
    accrual.accrue(now=at(3701))

    run(at(3702))

    assert [m["Subject"] for m in smtp.messages] == ["Power cut over: ₹14.00 earned"]
    assert not Delivery.objects.filter(event__kind=EventKind.DEVICE_SILENT).exists()


def test_a_mail_server_that_is_down_is_retried_with_backoff_then_given_up(settings, home):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    heartbeat(home, 0)

    run(at(181))
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert delivery.error.startswith("Attempt 1: Could not reach the mail server")
    assert delivery.not_before == at(181) + timedelta(minutes=1)
    run(at(200))  # not due yet
    assert Delivery.objects.get().attempts == 1
    moment = at(181)
    for waited in (1, 5, 30, 120):
        moment += timedelta(minutes=waited)
        run(moment)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 5
    assert delivery.not_before > T0


def test_a_delivery_is_claimed_once_however_many_runs_reach_it(smtp, alice, home):
    heartbeat(home, 0)
    with time_machine.travel(at(181), tick=False):
        tasks.scan.scan()
    pending = Delivery.objects.get()
    prefs = delivery.Preferences(household=alice)

    first = delivery.send_one(pending, prefs, at(181))
    second = delivery.send_one(pending, prefs, at(181))  # a run that read it as pending too

    assert (first, second) == (DeliveryState.SENT, None)
    assert len(smtp.messages) == 1


def test_a_send_interrupted_by_a_crash_is_not_sent_again(smtp, home):
    heartbeat(home, 0)
    with time_machine.travel(at(181), tick=False):
        tasks.scan.scan()
    Delivery.objects.update(state=DeliveryState.SENDING, claimed_at=at(181), attempts=1)

    run(at(181 + 60))
    assert Delivery.objects.get().state == DeliveryState.SENDING  # may still be sending
    run(at(181 + 601))

    interrupted = Delivery.objects.get()
    assert interrupted.state == DeliveryState.FAILED
    assert interrupted.error == "Interrupted while sending: not sent again, as it may have gone."
    assert smtp.messages == []


def test_a_run_stops_sending_when_its_time_is_up_and_the_next_sends_the_rest(
    smtp, home, monkeypatch
):
    """Slow receivers must not hold the worker (it also runs the accrual every second)."""
    heartbeat(home, 0)
    monkeypatch.setattr(delivery, "SEND_BUDGET_SECONDS", -1.0)  # spent before the first

    run(at(181))

    assert smtp.messages == []
    assert Delivery.objects.get().state == DeliveryState.PENDING
    monkeypatch.setattr(delivery, "SEND_BUDGET_SECONDS", 10.0)

    run(at(196))

    assert len(smtp.messages) == 1
    assert Delivery.objects.get().state == DeliveryState.SENT
