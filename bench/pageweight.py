"""What a phone downloads to open the dashboard for the first time, in each language.

    .venv/bin/python -m bench.pageweight [--outages 20]

Production settings (DEBUG off, hashed static files collected and compressed as
whitenoise serves them) on a fresh SQLite database in a temporary directory: the demo
household alice with its two devices, `--outages` past cuts of theirs accrued, and one
cut going on. Fetches /dashboard/ as alice in English, Tamil and Hindi, then every
stylesheet and script the page names, and reports the bytes of each: as sent (gzip,
as whitenoise serves static files; the HTML gzipped as a TLS proxy's `encode gzip` would)
and uncompressed. Images, the manifest and what the service worker keeps afterwards
are listed apart: they are not HTML, CSS or script of the first load.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import secrets
import sys
import tempfile
from datetime import timedelta

from bench.ticks import BASE_DIR, RESULTS

ASSET = re.compile(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"[^>]*>')


def setup_django(var_dir: str) -> None:
    os.environ.update(
        CELC_VAR_DIR=var_dir,
        DATABASE_URL="",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="0",
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SETTINGS_MODULE="celc.settings",
    )
    os.environ.pop("DATABASE_URL")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    call_command("demo_data", "--force", verbosity=0)


def make_history(outages: int) -> None:
    """`outages` past cuts of alice's first device, accrued, and one going on now."""
    from django.utils import timezone

    from accounts.models import User
    from devices.ingest import store_ticks
    from devices.protocol import Tick
    from payouts import accrual

    device = User.objects.get(username="alice").devices.order_by("pk").first()
    now = timezone.now().replace(microsecond=0)
    seq = 1
    for n in range(outages + 1):
        start = now - timedelta(hours=outages - n, minutes=30)
        length = 600 if n < outages else 1800
        ticks = [
            Tick(seq=seq + i, ts=start + timedelta(seconds=i), power="off") for i in range(length)
        ]
        seq += length
        if n < outages:
            ticks.append(Tick(seq=seq, ts=start + timedelta(seconds=length), power="on"))
            seq += 1
        store_ticks({device.pk: ticks}, received_at=ticks[-1].ts)
    accrual.accrue(now=now)


def weigh(client, url: str, compressed: bool) -> tuple[int, str]:
    """(bytes sent, body) of one GET: whitenoise's own gzip for static files, else gzip -6."""
    headers = {"HTTP_ACCEPT_ENCODING": "gzip"} if compressed else {}
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if compressed and response.get("Content-Encoding") != "gzip":
        sent = len(gzip.compress(body, compresslevel=6))
    else:
        sent = len(body)
    if response.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return sent, body.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        setup_django(var_dir)
        make_history(args.outages)
        from django.conf import settings
        from django.test import Client

        from accounts.models import User

        alice = User.objects.get(username="alice")
        report = {"outages": args.outages, "languages": {}}
        for language in ("en", "ta", "hi"):
            client = Client()
            client.force_login(alice)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            files = []
            sent, html = weigh(client, "/dashboard/", compressed=True)
            raw = len(html.encode())
            files.append({"url": "/dashboard/", "sent": sent, "raw": raw})
            for url in ASSET.findall(html):
                if not (url.endswith(".js") or url.endswith(".css") or url.startswith("/jsi18n")):
                    continue
                sent, body = weigh(client, url, compressed=True)
                files.append({"url": url, "sent": sent, "raw": len(body.encode())})
            report["languages"][language] = {
                "files": files,
                "sent": sum(f["sent"] for f in files),
                "raw": sum(f["raw"] for f in files),
            }
            print(
                f"{language}: {report['languages'][language]['sent'] / 1000:.1f} KB sent, "
                f"{report['languages'][language]['raw'] / 1000:.1f} KB uncompressed, "
                f"{len(files)} files"
            )
            for f in files:
                print(f"    {f['sent']:>7,} {f['raw']:>8,}  {f['url']}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "pageweight.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {out.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
