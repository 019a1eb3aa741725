"""The ledger refuses UPDATE and DELETE in the database itself, not only in the ORM.

PostgreSQL: a row trigger raising an exception. SQLite: triggers raising
ABORT, unless the connection's `celc_ledger_purge_allowed()` says 1, which
only the test harness sets (to empty tables between tests); a connection
without that function (the sqlite3 shell) cannot delete either.
"""

from django.db import migrations

TABLE = "payouts_ledgerentry"

POSTGRES_UP = f"""
CREATE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only (%% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER ledger_append_only ON {TABLE};
DROP FUNCTION ledger_append_only();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (UPDATE refused)'); END""",
    f"""CREATE TRIGGER ledger_no_delete BEFORE DELETE ON {TABLE}
        WHEN celc_ledger_purge_allowed() = 0
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (DELETE refused)'); END""",
]
SQLITE_DOWN = ["DROP TRIGGER ledger_no_update", "DROP TRIGGER ledger_no_delete"]


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0002_default_policy")]

    operations = [migrations.RunPython(up, down)]
