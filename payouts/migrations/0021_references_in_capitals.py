"""Payment references are stored in capitals (payouts.destinations.normalised_reference):
bill-credit references marked before were stored as typed. Those whose capitals another
payout already holds are left as they are (the unique constraint would refuse them): two
payouts marked paid by one payment, for a reviewer to look at."""

from django.db import migrations


def to_capitals(apps, schema_editor):
    Payout = apps.get_model("payouts", "Payout")
    taken = set(Payout.objects.exclude(reference="").values_list("reference", flat=True))
    for pk, reference in (
        Payout.objects.exclude(reference="").order_by("pk").values_list("pk", "reference")
    ):
        upper = reference.upper()
        if upper == reference or upper in taken:
            continue
        Payout.objects.filter(pk=pk).update(reference=upper)
        taken.discard(reference)
        taken.add(upper)


class Migration(migrations.Migration):
    dependencies = [("payouts", "0020_accrual_checkpoints")]

    operations = [migrations.RunPython(to_capitals, migrations.RunPython.noop)]
