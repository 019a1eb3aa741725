from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from payouts import creation, review
from payouts.models import PayoutState


class Command(BaseCommand):
    help = (
        "Turn every balance of at least the minimum into a payout, now (what the daily task "
        "does at CELC_PAYOUT_AT): awaiting review, or approved at once where the policy says. "
        "Once per household per day."
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
            created = creation.create_payouts(at_least=at_least)
        except review.PayoutError as error:
            raise CommandError(str(error)) from None
        total = sum((p.amount for p in created), Decimal(0))
        approved = sum(1 for p in created if p.state == PayoutState.APPROVED)
        awaiting = len(created) - approved
        if approved:
            said = f"{approved} payout(s) approved by the policy and {awaiting} awaiting review"
        else:
            said = f"{awaiting} payout(s) awaiting review"
        self.stdout.write(f"{said}, Rs {total:.2f} in all.")
