from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from devices import services


def decimal(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(f"{value!r} is not a number") from None


class Command(BaseCommand):
    help = (
        "Register a device for a household and print its token, alone on the last line. "
        "The area is created if it does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("--household", required=True, help="the household's username")
        parser.add_argument("--name", required=True, help='for example "Meter 1"')
        parser.add_argument("--area", required=True, help="area code, for example TN-CHN-042")
        parser.add_argument("--monthly-units", required=True, type=decimal, help="kWh per month")
        parser.add_argument("--tariff", required=True, type=decimal, help="rupees per kWh")

    def handle(self, *args, household, name, area, monthly_units, tariff, **options):
        try:
            user = get_user_model().objects.get(username=household)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No household with the username {household!r}") from None
        try:
            device, token = services.device_register(
                household=user,
                name=name,
                area_code=area,
                monthly_units=monthly_units,
                tariff=tariff,
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()
            )
            raise CommandError(f"Device not registered: {problems}") from None
        self.stdout.write(
            f"Registered {device.name} (id {device.pk}) for {user.username} in {device.area.code}. "
            "Its token, shown only now:"
        )
        self.stdout.write(token)
