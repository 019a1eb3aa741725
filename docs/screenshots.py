"""Screenshots of the dashboard and the board for README.md and docs/, with Debian's Chromium.

Start the stack first (`make run`), then:

    .venv/bin/python docs/screenshots.py [--url http://localhost:8000] [--user alice]
    .venv/bin/python docs/screenshots.py --user board

Writes docs/img/dashboard-{desktop,phone}.png, or for board staff
docs/img/board-{desktop,phone}.png (taken while an area is out).
"""

import argparse
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from devtools.chromium import launch
from devtools.demo import DEMO_USERS

OUT = Path(__file__).resolve().parent / "img"
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("CELC_URL", "http://localhost:8000"))
    parser.add_argument("--user", default="alice")
    parser.add_argument(
        "--wait-for-cut",
        type=int,
        default=360,
        metavar="SECONDS",
        help="wait up to this long for a cut at the household (the demo fleet cuts every 5 min)",
    )
    args = parser.parse_args()
    password = {user: password for user, password, _ in DEMO_USERS}[args.user]
    board = args.user == "board"
    shot = "board" if board else "dashboard"
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for name, viewport in SIZES.items():
            context = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{args.url}/accounts/login/")
            page.get_by_label("Username").fill(args.user)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/board/" if board else "**/dashboard/")  # where each lands
            if args.wait_for_cut:
                page.wait_for_selector(
                    "#areas-out-rows tr" if board else '.balance-card[data-cut="1"]',
                    timeout=args.wait_for_cut * 1000,
                )
            page.wait_for_timeout(1500)  # let the live connection settle
            page.screenshot(path=OUT / f"{shot}-{name}.png", full_page=True)
            context.close()
        browser.close()
    print(f"Wrote {', '.join(f'docs/img/{shot}-{name}.png' for name in SIZES)}")


if __name__ == "__main__":
    main()
