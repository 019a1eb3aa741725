"""An outage's checkpoint is kept as when it is next due (its own second of every interval),
not as when it was last posted: cuts that started together no longer come due together.

Rows of open outages become due one interval (60 s, the default) after their last posting,
as they were; the next run gives each its own second."""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F


def due_one_interval_after_posting(apps, schema_editor):
    AccrualState = apps.get_model("payouts", "AccrualState")
    AccrualState.objects.filter(due_at__isnull=False).update(
        due_at=F("due_at") + timedelta(seconds=60)
    )


class Migration(migrations.Migration):
    dependencies = [("payouts", "0024_policy_max_gap_bounded")]

    operations = [
        migrations.RemoveIndex(model_name="accrualstate", name="accrual_post_due"),
        migrations.RenameField(model_name="accrualstate", old_name="posted_at", new_name="due_at"),
        migrations.RunPython(due_one_interval_after_posting, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="accrualstate",
            index=models.Index(
                condition=models.Q(("open", True)), fields=["due_at"], name="accrual_post_due"
            ),
        ),
    ]
