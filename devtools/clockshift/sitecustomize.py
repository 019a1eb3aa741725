"""Shifts this Python process's clock when CELC_TEST_CLOCK_OFFSET is set (tests only).

`devtools.testing` puts this directory on PYTHONPATH for the servers the tests
start (daphne, Celery, the agent), so that, in a CI run with the clock set
to a month end, a year end or a leap day (`CELC_TEST_CLOCK`), every process
of the run agrees on the date. Nothing outside the tests sets the variable.
"""

import os

_offset = os.environ.get("CELC_TEST_CLOCK_OFFSET")
if _offset:
    from celc_clockshift import shift

    shift(float(_offset))
