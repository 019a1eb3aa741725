import asyncio
import contextlib
import json
import logging
import os
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agent.fleet import FleetDevice, Scenario, describe, parse_window, run_fleet
from devices import services
from devices.models import Device
from devtools.demo import DEMO_AREAS

DEMO_TOKENS = settings.VAR_DIR / "demo-device-tokens.json"
FLEET_TOKENS = settings.VAR_DIR / "fleet-device-tokens.json"


class Command(BaseCommand):
    help = (
        "Drive N simulated devices over real WebSockets: area-wide cuts, short random cuts, "
        "and flaky devices that drop their connection and replay. Uses the demo devices first, "
        "then registers fleet devices (tokens kept in var/fleet-device-tokens.json)."
    )

    def add_arguments(self, parser):
        port = os.environ.get("PORT", "8000")
        parser.add_argument("--devices", type=int, default=6)
        parser.add_argument("--url", default=f"ws://127.0.0.1:{port}/ws/device/")
        parser.add_argument("--areas", type=int, default=0, help="extra areas for fleet devices")
        parser.add_argument(
            "--cut-every", type=float, default=300, help="seconds between area cuts"
        )
        parser.add_argument(
            "--cut-length", type=float, default=120, help="seconds an area cut lasts"
        )
        parser.add_argument("--random-cuts-per-hour", type=float, default=2)
        parser.add_argument(
            "--window",
            action="append",
            default=[],
            metavar="AREA=HH:MM-HH:MM",
            help="a daily scheduled cut for an area, e.g. TN-CHN-042=09:00-17:00",
        )
        parser.add_argument(
            "--flaky", type=int, default=1, help="devices that keep dropping their connection"
        )
        parser.add_argument("--heartbeat", type=float, default=60)
        parser.add_argument(
            "--duration", type=float, default=None, help="stop after this many seconds"
        )

    def handle(self, *args, **options):
        if options["devices"] < 1:
            raise CommandError("--devices must be at least 1")
        try:
            windows = dict(parse_window(text) for text in options["window"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        devices = self.fleet(options["devices"], options["areas"])
        scenario = Scenario(
            cut_every=options["cut_every"],
            cut_length=options["cut_length"],
            random_cuts_per_hour=options["random_cuts_per_hour"],
            windows=windows,
        )
        logging.getLogger("agent").setLevel(logging.WARNING)
        self.stdout.write(f"Fleet: {describe(scenario, devices)}; streaming to {options['url']}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_fleet(
                    options["url"],
                    devices,
                    scenario,
                    flaky=options["flaky"],
                    heartbeat=options["heartbeat"],
                    duration=options["duration"],
                )
            )

    def fleet(self, count: int, extra_areas: int) -> list[FleetDevice]:
        known = {}
        for path in (DEMO_TOKENS, FLEET_TOKENS):
            if path.exists():
                known.update(json.loads(path.read_text()))
        live = {
            key: entry
            for key, entry in known.items()
            if services.device_for_token(entry["token"]) is not None
        }
        areas = [code for code, _ in DEMO_AREAS] + [
            f"SIM-{n:03d}" for n in range(1, extra_areas + 1)
        ]
        fleet_tokens = {k: v for k, v in live.items() if k.startswith("fleet-")}
        with transaction.atomic():
            n = 0
            while len(live) < count:
                n += 1
                key = f"fleet-{n:05d}/Meter"
                if key in live:
                    continue
                live[key] = fleet_tokens[key] = self.fleet_device(key, areas[n % len(areas)])
        FLEET_TOKENS.write_text(json.dumps(fleet_tokens))
        os.chmod(FLEET_TOKENS, 0o600)
        chosen = sorted(live.items(), key=lambda item: (item[0].startswith("fleet-"), item[0]))[
            :count
        ]
        return [FleetDevice(key, entry["token"], entry["area"]) for key, entry in chosen]

    def fleet_device(self, key: str, area: str) -> dict:
        username, name = key.split("/")
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        device = Device.objects.filter(household=user, name=name).first()
        if device is None or device.is_revoked:
            device, token = services.device_register(
                household=user,
                name=name,
                area_code=area,
                monthly_units=Decimal("200"),
                tariff=Decimal("6.50"),
            )
        else:
            token = services.device_regenerate_token(device=device)
        return {"device_id": device.pk, "area": device.area.code, "token": token}
