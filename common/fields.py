"""Model fields shared by the apps."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models


class ExactDecimalField(models.DecimalField):
    """A DecimalField stored exactly on SQLite too, so that the database's sums are exact.

    SQLite has no decimal type: a `decimal` column keeps values as REAL and
    `SUM()` adds them in floating point. This field stores, on SQLite only,
    the value times 10^decimal_places as an INTEGER (micro-rupees for the
    ledger's 6 places), which SQLite sums exactly; PostgreSQL keeps `numeric`.
    Raw SQL that writes such a column passes `exact_param(connection, value)`.
    """

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's DecimalField converter would read the integer back
        # as a float-made decimal; from_db_value below does it exactly.
        return "ExactDecimalField"

    def db_type(self, connection):
        if connection.vendor == "sqlite":
            return "integer"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def cast_db_type(self, connection):
        return self.db_type(connection)

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        return exact_param(connection, value, self.decimal_places, self.max_digits)

    def get_db_prep_save(self, value, connection):
        return self.get_db_prep_value(value, connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if connection.vendor == "sqlite":
            return Decimal(int(value)).scaleb(-self.decimal_places)
        return value


def exact_param(connection, value: Decimal, places: int = 6, digits: int = 14):
    """A decimal as an ExactDecimalField column of `digits` digits, `places` of them after the
    point, holds it: an integer on SQLite.

    ValueError for a value no such column holds (not finite, or `digits - places` digits or
    more before the point), rather than an arithmetic error or an integer SQLite refuses;
    lookups never get here with one (celc.lookups).
    """
    value = Decimal(value)
    if not value.is_finite() or (value and value.adjusted() >= digits - places):
        raise ValueError(f"{value} is out of the range of a decimal({digits}, {places}) column")
    if connection.vendor == "sqlite":
        return int(value.scaleb(places).to_integral_value(ROUND_HALF_EVEN))
    return connection.ops.adapt_decimalfield_value(value, digits, places)


def decimal_limit(field: models.DecimalField) -> Decimal:
    """The least magnitude a decimal column of `field`'s digits cannot hold."""
    return Decimal(10) ** (field.max_digits - field.decimal_places)
