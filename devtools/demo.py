"""The demo world `make run` starts with: who signs in, and which devices exist."""

from decimal import Decimal

DEMO_USERS = [
    # username, password, role
    ("admin", "admin-demo", "superuser"),
    ("board", "board-demo", "board staff"),
    ("alice", "alice-demo", "household"),
    ("bob", "bob-demo", "household"),
]

# Where the demo households' payouts go, so that board staff can approve them.
DEMO_DESTINATIONS = {
    "alice": {"payout_method": "upi", "payout_upi_id": "alice@okbank"},
    "bob": {
        "payout_method": "bank",
        "payout_bank_account": "123456784321",
        "payout_ifsc": "HDFC0001234",
        "payout_account_holder": "Bob",
    },
}

DEMO_AREAS = [
    ("TN-CHN-042", "Chennai, Velachery feeder 42"),
    ("DL-SKT-007", "Delhi, Saket feeder 7"),
]

DEMO_DEVICES = [
    # household, device name, area code, monthly kWh, Rs per kWh
    ("alice", "Home meter", "TN-CHN-042", Decimal("300"), Decimal("6.00")),
    ("alice", "Shop meter", "TN-CHN-042", Decimal("120"), Decimal("8.50")),
    ("bob", "Home meter", "DL-SKT-007", Decimal("250"), Decimal("7.50")),
]
