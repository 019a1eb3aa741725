"""The CI clock runs (`make test-clocks`): every process of a run agrees on the shifted date."""

import os
import subprocess
import sys
import time
from pathlib import Path

import time_machine

import devtools


def real_time() -> float:
    """The real clock, whatever this run itself is shifted to."""
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.time.time()
    return time.time()


SHIM = Path(devtools.__file__).parent / "clockshift"
A_YEAR = 366 * 86400


def test_it_moves_a_child_process_clock_by_the_offset_and_keeps_it_ticking():
    env = {**os.environ, "PYTHONPATH": str(SHIM), "CELC_TEST_CLOCK_OFFSET": str(A_YEAR)}
    env.pop("CELC_TEST_CLOCK", None)
    script = "import time; a = time.time(); time.sleep(0.3); print(a, time.time())"

    before = real_time()
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    after = real_time()

    first, second = (float(x) for x in out.split())
    assert before + A_YEAR <= first <= after + A_YEAR  # shifted by the offset, no more
    assert second - first >= 0.3  # and still ticking


def test_without_the_offset_nothing_moves():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELC_TEST_CLOCK")}
    env["PYTHONPATH"] = str(SHIM)

    before = real_time()
    out = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    after = real_time()

    assert before <= float(out) <= after
