"""Register N benchmark devices in bulk and write their tokens as a JSON list.

DATABASE_URL=... python -m bench.register N tokens.json
DATABASE_URL=... python -m bench.register --stored   # print ticks stored so far
DATABASE_URL=... python -m bench.register --heard    # devices with a stored tick
"""

import json
import os
import sys
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db.models import Sum  # noqa: E402

from devices import tokens  # noqa: E402
from devices.models import Area, Device, Outage  # noqa: E402

AREAS = 10


def register(n: int) -> list[str]:
    user_model = get_user_model()
    areas = [
        Area.objects.get_or_create(code=f"BENCH-{a:02d}", defaults={"name": f"Bench area {a}"})[0]
        for a in range(AREAS)
    ]
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench-{i:05d}") for i in range(n)], batch_size=1000
    )
    minted = [tokens.mint_token() for _ in range(n)]
    Device.objects.bulk_create(
        [
            Device(
                household=user,
                name="Meter",
                area=areas[i % AREAS],
                monthly_units=Decimal(300),
                tariff=Decimal(6),
                token_hash=tokens.hash_token(token),
                token_prefix=tokens.visible_prefix(token),
            )
            for i, (user, token) in enumerate(zip(users, minted, strict=True))
        ],
        batch_size=1000,
    )
    return minted


if __name__ == "__main__":
    if sys.argv[1] == "--stored":
        print(Outage.objects.aggregate(s=Sum("ticks_received"))["s"] or 0)
    elif sys.argv[1] == "--heard":
        print(Device.objects.filter(last_seq__isnull=False).count())
    else:
        with open(sys.argv[2], "w") as out:
            json.dump(register(int(sys.argv[1])), out)
