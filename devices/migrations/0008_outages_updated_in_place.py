"""Ongoing outages and their devices are updated in place on PostgreSQL.

Every flush rewrites the row of each ongoing outage and of each device it
heard from. PostgreSQL can do that as a heap-only (HOT) update, adding no
index entries and pruning the old version on the page without waiting for
VACUUM, when no indexed column changed and the page has room. The index on
`last_tick_at` (an earlier way to find ticks ahead of the clock, now found
by their `updated_at`) named a column every tick moves; free space left on
each page gives the new versions room.

On a database with data: the fillfactor applies to pages written from now
on (a `VACUUM FULL` or `pg_repack` of the two tables gives the old ones
room too), and dropping the index locks the outage table for its length:
migrate while few devices report, or before the web processes start.
"""

from django.db import migrations

TABLES = ("devices_outage", "devices_device")


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite rewrites rows in place anyway
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def reset_room(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("devices", "0007_supply_changes")]

    operations = [
        migrations.RemoveIndex(model_name="outage", name="outage_ticks_ahead"),
        migrations.RunPython(leave_room, reset_room),
    ]
