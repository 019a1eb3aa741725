"""Ready-made policies board staff can start a new version from."""

from decimal import Decimal

PRESETS = {
    "default": {
        "name": "Compounding (default)",
        "kind": "compounding",
        "grace_seconds": 0,
        "multiplier": Decimal(5),
        "escalation": Decimal("0.25"),
        "tiers": [],
        "cap_per_outage": Decimal(500),
        "cap_per_month": Decimal(3000),
        "max_gap_seconds": 120,
        "silence_timeout_seconds": 300,
    },
    "delhi": {
        # Delhi's supply code: nothing for the first hour, Rs 50/h for hours
        # 1 to 3, then Rs 100/h; scheduled cuts pay nothing for their first 12 hours.
        "name": "Tiers, Delhi style",
        "kind": "tiers",
        "grace_seconds": 0,
        "multiplier": Decimal(1),
        "escalation": Decimal(0),
        "tiers": [[0, "0"], [1, "50"], [3, "100"]],
        "cap_per_outage": Decimal(500),
        "cap_per_month": Decimal(3000),
        "max_gap_seconds": 120,
        "silence_timeout_seconds": 300,
        "planned_unpaid_hours": 12,
    },
}
