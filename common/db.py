"""Database connection set-up shared by every app.

Django (5.2) registers its own `timestamptz` loader on PostgreSQL
connections, a Python subclass of psycopg's, which keeps psycopg from using
its C loader: each timestamp read costs microseconds of Python (a large share
of an accrual run's reading time: docs/performance.md). With `USE_TZ` the
connection's time zone is UTC and Django's loader only swaps the `tzinfo`
for `datetime.timezone.utc`, which psycopg's own loader already returns, so
registering psycopg's loader again gives the same values, in C.
"""

from __future__ import annotations

import datetime
import functools

from django.conf import settings


def use_fast_loaders(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: psycopg's C `timestamptz` loader on PostgreSQL."""
    if connection.vendor != "postgresql" or not settings.USE_TZ:
        return
    if connection.timezone_name != "UTC":
        return  # Django's loader converts to another zone: keep it
    connection.connection.adapters.register_loader("timestamptz", _utc_loader())


@functools.cache
def _utc_loader() -> type:
    """psycopg's own loader (C with psycopg[binary]) behind the attribute Django checks.

    The C class cannot be subclassed; the wrapper's `load` is the C loader's
    bound method, so reading a value calls straight into C.
    """
    from psycopg import adapters
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    fastest = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)

    class UtcTimestamptzLoader(Loader):
        timezone = datetime.UTC  # Django compares this to the connection's zone per cursor

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self.load = fastest(oid, context).load

        def load(self, data):  # replaced per instance in __init__
            raise NotImplementedError

    return UtcTimestamptzLoader


def array_literal(values) -> str:
    """A PostgreSQL array literal of numbers, `{1,2,3}`, for a `%s::bigint[]` parameter.

    psycopg quotes each element of a list parameter in Python (a regular
    expression per element: a second for 300,000 elements); numbers need no
    quoting, so one `join` does it. Only for ints and Decimals.
    """
    return "{" + ",".join(map(str, values)) + "}"


def text_array_literal(values) -> str:
    """A PostgreSQL array literal of any values as text (None as NULL), for a `%s::type[]`
    parameter: every element double-quoted with its quotes and backslashes escaped, so
    PostgreSQL parses it as the element type. One pass in Python instead of psycopg's
    per-element dumpers (a visible share of a web process's busy time: docs/performance.md).
    """
    return (
        "{"
        + ",".join(
            "NULL"
            if value is None
            else '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
            for value in values
        )
        + "}"
    )
