"""How long revoking a device takes to close its open connection, over real daphne.

    .venv/bin/python -m bench.revocation [--trials 20] [--db sqlite|postgres]

Registers devices, connects each over a WebSocket to a daphne process,
revokes it with `devices.services.device_revoke` (as the admin action does)
and times until the close frame arrives. The protocol promises 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime

from websockets.asyncio.client import connect

from bench.ticks import BASE_DIR, RESULTS, django_env, fresh_database, manage


async def trial(url: str, token: str, revoke) -> float:
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None
    ) as ws:
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await asyncio.to_thread(revoke)
        await ws.wait_closed()
        assert ws.close_code == 4401, ws.close_code
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    args = parser.parse_args()
    database_url = fresh_database(args.db)
    env = django_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    from devices import services
    from devtools.stack import free_port, start_daphne

    user = get_user_model().objects.create_user("revocation-bench")
    port = free_port()
    web = start_daphne(port, env)
    try:
        url = f"ws://127.0.0.1:{port}/ws/device/"
        times = []
        for n in range(args.trials):
            device, token = services.device_register(
                household=user, name=f"R{n}", area_code="BENCH", monthly_units=300, tariff=6
            )
            times.append(
                asyncio.run(trial(url, token, lambda d=device: services.device_revoke(device=d)))
            )
    finally:
        web.terminate()
        web.wait()
    times.sort()
    result = {
        "benchmark": "revocation",
        "when": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "db": args.db,
        "trials": len(times),
        "close_after_revoke_p50_ms": round(times[len(times) // 2] * 1000),
        "close_after_revoke_max_ms": round(times[-1] * 1000),
        "within_2s": sum(t <= 2 for t in times),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"revocation-{args.db}-{result['when']}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
