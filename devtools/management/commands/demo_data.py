import json
import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.roles import BOARD_STAFF_GROUP
from devices import services
from devices.models import Device
from devtools.demo import DEMO_AREAS, DEMO_DESTINATIONS, DEMO_DEVICES, DEMO_USERS

TOKENS_FILE = settings.VAR_DIR / "demo-device-tokens.json"


class Command(BaseCommand):
    help = (
        "Create the demo users, areas and devices (idempotent). Device tokens are "
        f"written to {TOKENS_FILE} for the simulated fleet. Refuses to run unless DEBUG."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="run even with DEBUG off (never in production)"
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "demo_data creates accounts with published passwords: it runs only with "
                "DJANGO_DEBUG=1 (or --force on a throwaway database)."
            )
        with transaction.atomic():
            self.create_users()
            tokens = self.create_devices()
        TOKENS_FILE.write_text(json.dumps(tokens, indent=2))
        os.chmod(TOKENS_FILE, 0o600)
        self.stdout.write(f"Demo data ready: {len(DEMO_USERS)} users, {len(tokens)} devices.")

    def create_users(self):
        User = get_user_model()
        board_staff = Group.objects.get(name=BOARD_STAFF_GROUP)
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.email = f"{username}@example.com"
                for field, value in DEMO_DESTINATIONS.get(username, {}).items():
                    setattr(user, field, value)
            user.is_superuser = role == "superuser"
            user.is_staff = role in {"superuser", "board staff"}
            user.save()
            if role == "board staff":
                user.groups.add(board_staff)

    def create_devices(self) -> dict:
        """Register missing demo devices; keep the tokens of those already known."""
        User = get_user_model()
        known = json.loads(TOKENS_FILE.read_text()) if TOKENS_FILE.exists() else {}
        for code, name in DEMO_AREAS:
            services.area_get_or_create(code=code, name=name)
        tokens = {}
        for username, name, area_code, units, tariff in DEMO_DEVICES:
            household = User.objects.get(username=username)
            key = f"{username}/{name}"
            device = Device.objects.filter(household=household, name=name).first()
            if device is None:
                device, token = services.device_register(
                    household=household,
                    name=name,
                    area_code=area_code,
                    monthly_units=units,
                    tariff=tariff,
                )
            elif device.is_revoked:
                continue  # revoked in the admin: the demo leaves it so
            elif key in known and services.device_for_token(known[key]["token"]) == device:
                token = known[key]["token"]
            else:
                # The token file was lost: only a new token can be known again.
                token = services.device_regenerate_token(device=device)
            tokens[key] = {"device_id": device.pk, "area": area_code, "token": token}
        return tokens
