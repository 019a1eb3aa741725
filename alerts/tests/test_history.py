"""Switching alerts on over a database with history tells nobody of its past: main's
database of 2026-11-30 (celc/tests/data: cuts posted, payouts made and reviewed) migrated
as an operator would, then scanned a minute after its last payout step."""

import gzip
import json
import os
import shutil
import subprocess
import sys

from devtools.stack import BASE_DIR

SCAN = """
import datetime, json
import time_machine
from alerts import scan
from alerts.models import Delivery, Watermark
from payouts.models import PayoutTransition

moment = PayoutTransition.objects.order_by("-at").first().at + datetime.timedelta(minutes=1)
with time_machine.travel(moment, tick=False):
    first = scan.scan().events
    deliveries = Delivery.objects.count()
    # The control: had alerts been on all along, the same scan finds that history.
    Watermark.objects.update(since=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    control = scan.scan().events
print(json.dumps({"first": first, "deliveries": deliveries, "control": control}))
"""


def test_a_first_migrate_over_history_tells_nobody_of_it(tmp_path):
    path = tmp_path / "main.sqlite3"
    data = BASE_DIR / "celc" / "tests" / "data" / "main-2026-11-30.sqlite3.gz"
    with gzip.open(data) as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DJANGO_DEBUG": "1"}
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=BASE_DIR, env=env, check=True)

    done = subprocess.run(
        [*manage, "shell", "-c", SCAN],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )

    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["first"] == {} and found["deliveries"] == 0
    assert found["control"].get("payout_approved", 0) + found["control"].get("cut_ended", 0) > 0
