"""Lookups of our own, and Django's made safe from values past what a column holds.

`field__any=[...]`: membership in a list of ids as one array parameter on
PostgreSQL. `__in` with 50,000 ids makes a query of 50,000 placeholders, slow
to build and to parse; `= ANY(%s)` sends one array. Other databases get `IN`.

Out-of-range values (a query string's `?amount__gt=1e999999`, `?id__in=1,10**20`,
`?started_at__year=99999999999`) match what they mean instead of failing in
Python's dates, in decimal arithmetic or in SQLite's driver (a 500): a value
past every value the column holds matches nothing (`exact`, `gt` over the
top...) or everything (`lt` over the top...), as Django already does for
`exact`, `gt`, `gte`, `lt` and `lte` on integer fields; `in` leaves it out;
`range` is cut to what the column holds. For integers (and the foreign keys
to them) in `in` and `range`, exact decimals (common.fields) and aware times
(stored in UTC: 0001-01-01 00:00+05:30 is not) in all of these, and year
lookups on dates.
"""

import copy
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db.models import DateTimeField, Field, ForeignObject, IntegerField, Lookup, lookups
from django.db.models.expressions import ColPairs
from django.db.models.fields import related_lookups
from django.db.models.functions import ExtractIsoYear, ExtractYear

from common.db import array_literal
from common.fields import ExactDecimalField, decimal_limit


@ForeignObject.register_lookup
@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [list(value)])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            if all(type(v) is int for v in values):
                return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, array_literal(values)]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", lhs_params
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


@ForeignObject.register_lookup
@Field.register_lookup
class InShard(Lookup):
    """`field__shard=(i, n)`: rows whose integer key is i modulo n (for work split n ways)."""

    lookup_name = "shard"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return ("%s", list(value))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        index, count = self.rhs
        return f"({lhs} %% %s) = %s", [*lhs_params, int(count), int(index)]


def _limits(lhs, connection) -> tuple | None:
    """(lowest, highest) value the column of `lhs` holds, when it is a number column."""
    if isinstance(lhs, ColPairs):
        return None
    field = getattr(lhs, "output_field", None)
    if isinstance(field, ForeignObject):
        field = field.target_field  # a foreign key holds what the key it points at holds
    if isinstance(field, ExactDecimalField):
        highest = decimal_limit(field) - Decimal(1).scaleb(-field.decimal_places)
        return -highest, highest
    if isinstance(field, IntegerField):
        try:
            return connection.ops.integer_field_range(field.get_internal_type())
        except KeyError:
            return None
    if isinstance(field, DateTimeField) and settings.USE_TZ:
        return EARLIEST, LATEST  # stored in UTC: an aware time must have one
    return None


EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)
LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _position(value, limits) -> int:
    """-1 under the column's range, 1 over it, 0 within (or not a number or time)."""
    low, high = limits
    if isinstance(value, datetime.datetime):
        if value.utcoffset() is None:
            return 0  # naive: Django says so its own way
    elif isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return 0
    if low is not None and value < low:
        return -1
    if high is not None and value > high:
        return 1
    return 0


class BoundedComparison:
    """exact, gt, gte, lt, lte: a value past the column's range matches nothing or all."""

    underflow_exception = EmptyResultSet
    overflow_exception = EmptyResultSet

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value() and (limits := _limits(self.lhs, connection)):
            position = _position(self.rhs, limits)
            if position < 0:
                raise self.underflow_exception
            if position > 0:
                raise self.overflow_exception
        return super().process_rhs(compiler, connection)


class BoundedIn:
    """in: values past the column's range are left out (none left: matches nothing)."""

    def as_sql(self, compiler, connection):
        if self.rhs_is_direct_value() and (limits := _limits(self.lhs, connection)):
            kept = [value for value in self.rhs if not _position(value, limits)]
            if len(kept) < len(self.rhs):
                if not kept:
                    raise EmptyResultSet
                lookup = copy.copy(self)
                lookup.rhs = kept
                return super(BoundedIn, lookup).as_sql(compiler, connection)
        return super().as_sql(compiler, connection)


class BoundedRange:
    """range: cut to the column's range (nothing when it lies wholly outside)."""

    def as_sql(self, compiler, connection):
        if self.rhs_is_direct_value() and (limits := _limits(self.lhs, connection)):
            start, end = self.rhs
            if _position(start, limits) > 0 or _position(end, limits) < 0:
                raise EmptyResultSet
            low, high = limits
            cut = (
                low if _position(start, limits) < 0 else start,
                high if _position(end, limits) > 0 else end,
            )
            if cut != tuple(self.rhs):
                lookup = copy.copy(self)
                lookup.rhs = cut
                return super(BoundedRange, lookup).as_sql(compiler, connection)
        return super().as_sql(compiler, connection)


class BoundedYear:
    """A year Python's dates cannot hold (before 1, after 9999, or its bounds in the time
    zone past them) matches nothing or everything, as it is under or over them."""

    underflow_exception = EmptyResultSet
    overflow_exception = EmptyResultSet

    def year_lookup_bounds(self, connection, year):
        try:
            return super().year_lookup_bounds(connection, year)
        except (ValueError, OverflowError):
            if year > datetime.MINYEAR:
                raise self.overflow_exception from None
            raise self.underflow_exception from None


class BoundedExact(BoundedComparison, lookups.Exact):
    pass


class BoundedGreaterThan(BoundedComparison, lookups.GreaterThan):
    underflow_exception = FullResultSet


class BoundedGreaterThanOrEqual(BoundedComparison, lookups.GreaterThanOrEqual):
    underflow_exception = FullResultSet


class BoundedLessThan(BoundedComparison, lookups.LessThan):
    overflow_exception = FullResultSet


class BoundedLessThanOrEqual(BoundedComparison, lookups.LessThanOrEqual):
    overflow_exception = FullResultSet


class BoundedInList(BoundedIn, lookups.In):
    pass


class BoundedRangeOf(BoundedRange, lookups.Range):
    pass


for _lookup in (
    BoundedExact,
    BoundedGreaterThan,
    BoundedGreaterThanOrEqual,
    BoundedLessThan,
    BoundedLessThanOrEqual,
    BoundedInList,
    BoundedRangeOf,
):
    ExactDecimalField.register_lookup(_lookup)
    DateTimeField.register_lookup(_lookup)


class IntegerIn(BoundedIn, lookups.In):
    pass


class IntegerRange(BoundedRange, lookups.Range):
    pass


IntegerField.register_lookup(IntegerIn)
IntegerField.register_lookup(IntegerRange)


class RelatedExact(BoundedComparison, related_lookups.RelatedExact):
    pass


class RelatedGreaterThan(BoundedComparison, related_lookups.RelatedGreaterThan):
    underflow_exception = FullResultSet


class RelatedGreaterThanOrEqual(BoundedComparison, related_lookups.RelatedGreaterThanOrEqual):
    underflow_exception = FullResultSet


class RelatedLessThan(BoundedComparison, related_lookups.RelatedLessThan):
    overflow_exception = FullResultSet


class RelatedLessThanOrEqual(BoundedComparison, related_lookups.RelatedLessThanOrEqual):
    overflow_exception = FullResultSet


class RelatedIn(BoundedIn, related_lookups.RelatedIn):
    pass


for _lookup in (
    RelatedExact,
    RelatedGreaterThan,
    RelatedGreaterThanOrEqual,
    RelatedLessThan,
    RelatedLessThanOrEqual,
    RelatedIn,
):
    ForeignObject.register_lookup(_lookup)


class YearExact(BoundedYear, lookups.YearExact):
    pass


class YearGt(BoundedYear, lookups.YearGt):
    underflow_exception = FullResultSet


class YearGte(BoundedYear, lookups.YearGte):
    underflow_exception = FullResultSet


class YearLt(BoundedYear, lookups.YearLt):
    overflow_exception = FullResultSet


class YearLte(BoundedYear, lookups.YearLte):
    overflow_exception = FullResultSet


for _lookup in (YearExact, YearGt, YearGte, YearLt, YearLte):
    ExtractYear.register_lookup(_lookup)
    ExtractIsoYear.register_lookup(_lookup)
