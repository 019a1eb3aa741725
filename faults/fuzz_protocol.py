"""Coverage-guided fuzzing of the device message parser with atheris (libFuzzer).

    .venv/bin/python faults/fuzz_protocol.py -runs=200000

Every input must parse into ticks or errors, never both, never neither, and
never raise. `faults/test_fuzz.py` runs it for a fixed number of inputs.
"""

import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports():
    from devices.protocol import parse_frame

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def one_input(data: bytes) -> None:
    for frame in (data, data.decode("utf-8", errors="replace")):
        parsed = parse_frame(frame, NOW)
        if bool(parsed.ticks) == bool(parsed.errors):
            raise AssertionError(f"ticks and errors both or neither for {frame!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
