from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from payouts import payments


class Command(BaseCommand):
    help = (
        "Turn every balance of at least the minimum into a payout awaiting review, now "
        "(what the daily task does at CELC_PAYOUT_AT). Once per household per day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minimum", help="rupees (default: CELC_PAYOUT_MINIMUM, Rs 1.00)", default=None
        )

    def handle(self, *args, minimum=None, **options):
        try:
            at_least = None if minimum is None else Decimal(minimum)
        except InvalidOperation:
            raise CommandError(f"--minimum must be an amount in rupees, not {minimum!r}") from None
        try:
            created = payments.create_payouts(at_least=at_least)
        except payments.PayoutError as error:
            raise CommandError(str(error)) from None
        total = sum((p.amount for p in created), Decimal(0))
        self.stdout.write(f"{len(created)} payout(s) awaiting review, Rs {total:.2f} in all.")
