"""The clock shift itself, shared by sitecustomize (child processes) and devtools.testing."""

import time

import time_machine

_traveller = None


def shift(offset_seconds: float) -> None:
    """Move the wall clock (time.time, datetime.now) by `offset_seconds`; it keeps ticking."""
    global _traveller
    if _traveller is None:
        _traveller = time_machine.travel(time.time() + offset_seconds, tick=True)
        _traveller.start()
        # time-machine starts ticking at the first read, not at start(): read it now, or
        # every process would lag by however long it spent before its first read.
        time.time()
