"""Payout destinations as structured fields instead of one free-text account.

The old `payout_account` is parsed by the method it was given for: what can be
read (a UPI ID; an account number and an IFSC; a consumer number) is kept,
anything else leaves the destination unset (no method), so that no payout is
approved to an account nobody can read. The account holder's name was never
asked for: bank details come across without it and wait for the household.
The patterns are frozen here (not imported) so that a later change cannot
alter what this migration did.
"""

import re

from django.db import migrations, models

UPI_ID = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}@[a-z][a-z0-9]{1,63}")
IFSC = re.compile(r"(?<![A-Z0-9])[A-Z]{4}0[A-Z0-9]{6}(?![A-Z0-9])")
DIGITS = re.compile(r"[0-9][0-9 ]*[0-9]")
CONSUMER_NUMBER = re.compile(r"(?=.*[0-9])[A-Z0-9]{6,20}")


def parsed(method: str, text: str) -> dict:
    """The structured destination of an old (method, free text), or {} when unreadable."""
    text = " ".join((text or "").split())
    if method == "upi":
        for word in text.lower().split():
            word = word.strip(".,;:()<>[]'\"")
            if UPI_ID.fullmatch(word):
                return {"payout_method": "upi", "payout_upi_id": word}
        return {}
    if method == "bank":
        upper = text.upper()
        ifsc = IFSC.search(upper)
        rest = IFSC.sub(" ", upper)
        accounts = [d.replace(" ", "") for d in DIGITS.findall(rest)]
        account = next((a for a in accounts if 9 <= len(a) <= 18), "")
        if not ifsc and not account:
            return {}
        return {
            "payout_method": "bank",
            "payout_bank_account": account,
            "payout_ifsc": ifsc.group(0) if ifsc else "",
        }
    if method == "bill":
        number = re.sub(r"[\s/-]", "", text).upper()
        if CONSUMER_NUMBER.fullmatch(number):
            return {"payout_method": "bill", "payout_consumer_number": number}
    return {}


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(payout_method="", payout_account="").iterator():
        fields = {
            "payout_method": "",
            "payout_upi_id": "",
            "payout_bank_account": "",
            "payout_ifsc": "",
            "payout_account_holder": "",
            "payout_consumer_number": "",
        }
        fields.update(parsed(user.payout_method, user.payout_account))
        User.objects.filter(pk=user.pk).update(**fields)


def backwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for user in User.objects.iterator():
        account = {
            "upi": user.payout_upi_id,
            "bank": f"{user.payout_bank_account} {user.payout_ifsc}".strip(),
            "bill": user.payout_consumer_number,
        }.get(user.payout_method, "")
        User.objects.filter(pk=user.pk).update(
            payout_method=user.payout_method or "bill", payout_account=account
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_payout_details"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="payout_upi_id",
            field=models.CharField(blank=True, default="", max_length=255, verbose_name="UPI ID"),
        ),
        migrations.AddField(
            model_name="user",
            name="payout_bank_account",
            field=models.CharField(
                blank=True, default="", max_length=18, verbose_name="bank account number"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="payout_ifsc",
            field=models.CharField(blank=True, default="", max_length=11, verbose_name="IFSC"),
        ),
        migrations.AddField(
            model_name="user",
            name="payout_account_holder",
            field=models.CharField(
                blank=True, default="", max_length=100, verbose_name="account holder"
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="payout_consumer_number",
            field=models.CharField(
                blank=True, default="", max_length=20, verbose_name="electricity consumer number"
            ),
        ),
        migrations.AlterField(
            model_name="user",
            name="payout_method",
            field=models.CharField(
                blank=True,
                choices=[
                    ("upi", "UPI"),
                    ("bank", "Bank transfer"),
                    ("bill", "Credit on the electricity bill"),
                ],
                default="",
                max_length=8,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="user", name="payout_account"),
    ]
