"""Register N benchmark devices in bulk and write their tokens as a JSON list.

DATABASE_URL=... python -m bench.register N tokens.json [sessions.json]
                                                      # and a signed-in session per household
DATABASE_URL=... python -m bench.register --stored   # print ticks stored so far
DATABASE_URL=... python -m bench.register --heard    # devices with a stored tick
DATABASE_URL=... python -m bench.register --runs ISO ISO  # accrual runs between (JSON)
DATABASE_URL=... python -m bench.register --ledger   # accrual entries and outage-hours (JSON)
"""

import json
import os
import sys
from datetime import datetime, timedelta
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
django.setup()

from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.base import VALID_KEY_CHARS  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from devices import tokens  # noqa: E402
from devices.models import Area, Device, Outage  # noqa: E402
from payouts.models import AccrualRun, LedgerEntry  # noqa: E402

AREAS = 10


def register(n: int) -> tuple[list[str], list[str]]:
    """N households with one device each: their device tokens and signed-in session keys."""
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
    return minted, sign_in(users)


def sign_in(users) -> list[str]:
    """A session per household, as logging in would make (the watchers' cookies)."""
    store = SessionStore()
    expires = datetime.now().astimezone() + timedelta(days=1)
    sessions = [
        Session(
            session_key=get_random_string(32, VALID_KEY_CHARS),
            session_data=store.encode(
                {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
            ),
            expire_date=expires,
        )
        for user in users
    ]
    Session.objects.bulk_create(sessions, batch_size=1000)
    return [session.session_key for session in sessions]


def runs_between(since: datetime, until: datetime) -> list[dict]:
    return list(
        AccrualRun.objects.filter(started_at__gte=since, started_at__lt=until)
        .order_by("started_at")
        .values("shard", "duration_ms", "outages", "posted_entries", "households")
    )


if __name__ == "__main__":
    if sys.argv[1] == "--stored":
        # The off ticks each outage counted, and the on tick that ended each ended one.
        off = Outage.objects.aggregate(s=Sum("ticks_received"))["s"] or 0
        print(off + Outage.objects.filter(status="ended").count())
    elif sys.argv[1] == "--heard":
        print(Device.objects.filter(last_seq__isnull=False).count())
    elif sys.argv[1] == "--ledger":
        # Accrual entries per outage-hour witnessed: the ledger's rows a cut costs.
        entries = LedgerEntry.objects.filter(kind="accrual").count()
        hours = float(Outage.objects.aggregate(s=Sum("witnessed_seconds"))["s"] or 0) / 3600
        print(json.dumps({"accrual_entries": entries, "outage_hours": round(hours, 2)}))
    elif sys.argv[1] == "--runs":
        since, until = (datetime.fromisoformat(arg) for arg in sys.argv[2:4])
        print(json.dumps(runs_between(since, until)))
    else:
        minted, session_keys = register(int(sys.argv[1]))
        with open(sys.argv[2], "w") as out:
            json.dump(minted, out)
        if len(sys.argv) > 3:
            with open(sys.argv[3], "w") as out:
                json.dump(session_keys, out)
