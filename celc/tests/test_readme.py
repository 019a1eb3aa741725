"""README.md's commands, run as a new user would type them (only the server's address differs:
the tests' daphne is not on localhost:8000)."""

import os
import re
import select
import signal
import subprocess
import time
from decimal import Decimal

import pytest

from devtools.stack import BASE_DIR
from payouts import accrual
from payouts.tests.test_accrual import at, cut

pytestmark = pytest.mark.django_db(transaction=True)

README = (BASE_DIR / "README.md").read_text()


def shell_block(containing: str) -> str:
    """The README's ```sh block that contains `containing`, as written."""
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        if containing in block:
            return block
    raise AssertionError(f"README.md has no sh block with {containing!r}")


def lines_until(process, pattern: str, timeout: float = 60) -> list[str]:
    """stderr lines of `process` until one matches (a generous wait, not a speed test)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1)
        if not ready:
            continue
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if re.search(pattern, line):
            return seen
    raise AssertionError(f"no line matching {pattern!r}: {seen}")


def test_the_local_agent_steps_register_a_device_that_is_acknowledged(
    daphne, alice, server_env, tmp_path
):
    block = shell_block("--url ws://localhost:8000/ws/device/")
    script = block.replace("ws://localhost:8000/ws/device/", daphne.url)
    env = {**server_env, "XDG_STATE_HOME": str(tmp_path)}
    env.pop("DJANGO_DEBUG")  # the block says it itself
    env.pop("CELC_DEVICE_TOKEN", None)

    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=BASE_DIR, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        seen = lines_until(process, r"first ack")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)

    assert any("connected" in line for line in seen)
    assert alice.devices.get().name == "Meter 2"
    assert list((tmp_path / "celc-agent").glob("buffer-*.sqlite3"))  # one per token


def test_making_todays_payouts_now_works_as_written(server_env, alice, register_device):
    cut(register_device(alice)[0], 0, 3600)
    accrual.accrue(now=at(3601))  # Rs 14.004438
    (command,) = [line for line in shell_block("create_payouts").splitlines() if line.strip()]
    env = {k: v for k, v in server_env.items() if k != "DJANGO_DEBUG"}

    done = subprocess.run(
        ["bash", "-c", command], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "1 payout(s) awaiting review, Rs 14.00 in all." in done.stdout
    assert alice.payouts.get().amount == Decimal("14.00")
