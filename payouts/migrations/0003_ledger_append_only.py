"""The ledger refuses UPDATE and DELETE in the database itself (payouts.ledger_triggers
installs them again after every migrate). The statements are frozen here as they were."""

from django.db import migrations

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




def up(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"postgresql": POSTGRES, "sqlite": SQLITE}.get(connection.vendor, [])
    if not statements or TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0002_default_policy")]

    operations = [migrations.RunPython(up, migrations.RunPython.noop)]
