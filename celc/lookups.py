"""`field__any=[...]`: membership in a list of ids as one array parameter on PostgreSQL.

`__in` with 50,000 ids makes a query of 50,000 placeholders, slow to build
and to parse; `= ANY(%s)` sends one array. Other databases get `IN`.
"""

from django.db.models import Field, ForeignObject, Lookup

from celc.db import array_literal


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
