"""The board's view: who may see it, what is out now and what it costs, indices and their CSV."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.summary import household_summary
from board import selectors as board
from devices.ingest import store_ticks
from devices.protocol import Tick
from devices.tests.test_open_data import ASKED, REGISTERED
from devices.tests.test_open_data import cut as cut_at_t0
from payouts import accrual, creation
from payouts.models import LedgerEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", password="carol-password-1")


def cut_until_now(device, seconds: int) -> None:
    """Off ticks for the last `seconds`, still off."""
    now = timezone.now()
    ticks = [
        Tick(seq=i + 1, ts=now - timedelta(seconds=seconds - i), power="off")
        for i in range(seconds + 1)
    ]
    store_ticks({device.pk: ticks}, received_at=now)


def test_only_board_staff_see_it(client, alice, board_staff):
    url = reverse("board:board")
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    client.force_login(alice)
    assert client.get(url).status_code == 403
    assert client.get(reverse("board:indices-csv")).status_code == 403
    client.force_login(board_staff)
    assert client.get(url).status_code == 200


def test_an_area_out_now_shows_its_devices_since_and_what_it_costs(
    client, alice, bob, carol, board_staff, register_device
):
    alice_meter, _ = register_device(alice, area_code="TN-CHN-042")
    register_device(bob, area_code="TN-CHN-042")
    register_device(carol, area_code="DL-SKT-007")
    cut_until_now(alice_meter, 600)
    accrual.accrue()
    now = timezone.now()

    (out,) = board.areas_out(now)

    assert out["code"] == "TN-CHN-042"
    assert (out["off"], out["devices"]) == (1, 2)
    assert out["since"] == alice_meter.outages.get().started_at
    # What the board pays for the area now is what alice's dashboard says she earns now.
    assert out["rate_per_second"] == Decimal(household_summary(alice, now)["rate_per_second"])
    assert out["rate_per_second"] > 0

    (row,) = board.compensation_by_area(now)
    posted = sum(LedgerEntry.objects.values_list("amount", flat=True), Decimal(0))
    assert (row["code"], row["month"], row["today"]) == (
        "TN-CHN-042",
        posted.quantize(Decimal("0.01")),
        posted.quantize(Decimal("0.01")),
    )

    client.force_login(board_staff)
    page = client.get(reverse("board:board")).content.decode()
    assert 'data-area="TN-CHN-042"' in page and "1 of 2" in page


def test_pending_payouts_are_counted_and_summed(alice, register_device):
    meter, _ = register_device(alice)
    cut_until_now(meter, 3600)
    accrual.accrue()
    (payout,) = creation.create_payouts(at_least=Decimal("0.01"))

    pending = board.pending_payouts()

    assert pending["awaiting"]["count"] == 1
    assert pending["awaiting"]["amount"] == payout.amount.quantize(Decimal("0.01"))
    assert pending["approved"]["count"] == 0


def test_the_indices_csv_for_a_worked_month(
    client, alice, bob, carol, board_staff, register_device, time_machine
):
    time_machine.move_to(REGISTERED, tick=False)
    alice_meter, _ = register_device(alice, area_code="TN-CHN-042")
    bob_meter, _ = register_device(bob, area_code="TN-CHN-042")
    carol_meter, _ = register_device(carol, area_code="DL-SKT-007")
    time_machine.move_to(ASKED, tick=False)
    cut_at_t0(alice_meter, 0, 600)  # 27 Nov: 10 min, sustained
    cut_at_t0(bob_meter, 300, 120)  # 2 min, momentary
    cut_at_t0(carol_meter, 86_400, 240)  # 28 Nov: 4 min, momentary
    client.force_login(board_staff)

    response = client.get(reverse("board:indices-csv"), {"month": "2026-11"})

    header, *rows = csv.reader(io.StringIO(response.content.decode()))
    assert header[6:] == ["saidi_minutes", "saifi", "caidi_minutes", "maifi"]
    by_area = {row[1]: row[3:] for row in rows}
    # Chennai: 2 households; alice 10 sustained minutes, bob one momentary.
    assert by_area["TN-CHN-042"] == ["2", "1", "1", "5.0000", "0.5000", "10.0000", "0.5000"]
    # Delhi: carol alone, one momentary; no sustained interruption, so no CAIDI.
    assert by_area["DL-SKT-007"] == ["1", "0", "1", "0.0000", "0.0000", "", "1.0000"]
    charts = client.get(reverse("board:board"), {"month": "2026-11"}).context["charts"]
    widths = {c["title"].split()[0]: {b["code"]: b["percent"] for b in c["bars"]} for c in charts}
    assert widths["SAIDI"] == {"TN-CHN-042": 100, "DL-SKT-007": 0}
    assert widths["MAIFI"] == {"TN-CHN-042": 50, "DL-SKT-007": 100}  # 0.5 and 1.0
    assert client.get(reverse("board:board"), {"month": "November"}).status_code == 400


@pytest.mark.parametrize("name", ["board:board", "board:indices-csv"])
@pytest.mark.parametrize(
    "month",
    [
        "0001-01",
        "9999-12",
        "1999-12",
        "9999-01",
        "10000-01",
        "2026-13",
        "2026-00",
        "2026-W48",
        "2026-1",
    ],
)
def test_a_month_out_of_range_or_malformed_is_a_clear_400(client, board_staff, name, month):
    client.force_login(board_staff)

    response = client.get(reverse(name), {"month": month})

    assert response.status_code == 400
    assert "month is YYYY-MM, from 2000-01 to 9998-12" in response.content.decode()


@pytest.mark.parametrize("name", ["board:board", "board:indices-csv"])
@pytest.mark.parametrize("month", ["2000-01", "9998-12"])
def test_the_first_and_last_months_that_can_be_asked_for_answer(client, board_staff, name, month):
    client.force_login(board_staff)

    response = client.get(reverse(name), {"month": month})

    assert response.status_code == 200
    if name == "board:board":  # the month picker offers no other
        assert 'min="2000-01" max="9998-12"' in response.content.decode()


years = st.integers(0, 10_001) | st.sampled_from([1, 1999, 2000, 9998, 9999])
months = st.builds(lambda year, month: f"{year:04d}-{month:02d}", years, st.integers(0, 13))
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(month=months | any_text, name=st.sampled_from(["board:board", "board:indices-csv"]))
def test_no_month_makes_a_500(client, board_staff, month, name):
    client.force_login(board_staff)

    assert client.get(reverse(name), {"month": month}).status_code in {200, 400}
