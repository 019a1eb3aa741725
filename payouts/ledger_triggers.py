"""The database side of the append-only ledger: triggers refusing UPDATE and DELETE.

Applied by migration 0003 and again after every `migrate` (post_migrate):
SQLite rebuilds a table to alter it and the rebuilt table has no triggers,
so the triggers must not depend on no later migration touching the ledger.

PostgreSQL: a row trigger raising an exception. SQLite: triggers raising
ABORT, unless the connection's `celc_ledger_purge_allowed()` says 1, which
only the test harness sets (to empty tables between tests); a connection
without that function (the sqlite3 shell) cannot delete either.
"""

TABLE = "payouts_ledgerentry"

POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'ledger entries are append-only (% refused)', TG_OP;
    END
    $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS ledger_append_only ON {TABLE}",
    f"""CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION ledger_append_only()""",
]
SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (UPDATE refused)'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON {TABLE}
        WHEN celc_ledger_purge_allowed() = 0
        BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only (DELETE refused)'); END""",
]


def install(connection) -> None:
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(connection.vendor, [])
    if not statements or TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
