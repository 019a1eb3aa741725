"""Fixtures shared by every app's tests: the households alice and bob, and board staff."""

import os
import signal
import subprocess
from decimal import Decimal

import pytest

from accounts.roles import ensure_board_staff_group
from devices import services
from devtools.stack import free_port, start_daphne


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def board_staff(django_user_model):
    user = django_user_model.objects.create_user(
        "board", "board@example.com", "board-password-1", is_staff=True
    )
    user.groups.add(ensure_board_staff_group())
    return user


@pytest.fixture
def register_device():
    def register(household, name="Home meter", area_code="TN-CHN-042", units="300", tariff="6.00"):
        return services.device_register(
            household=household,
            name=name,
            area_code=area_code,
            monthly_units=Decimal(units),
            tariff=Decimal(tariff),
        )

    return register


class Daphne:
    """A real daphne process serving the test database, to kill and restart at will."""

    def __init__(self, env):
        self.env = env
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/ws/device/"
        self.http = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        self.process = start_daphne(self.port, self.env)

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def database_url_under_test() -> str:
    """DATABASE_URL of the database the tests run on, for servers they start."""
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or ""
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = f"{params.get('HOST') or '127.0.0.1'}:{params.get('PORT') or 5432}"
    return f"postgres://{auth}{host}/{params['NAME']}"


@pytest.fixture
def server_env():
    env = os.environ.copy()
    env.update(DATABASE_URL=database_url_under_test(), DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def daphne(transactional_db, server_env):
    server = Daphne(server_env)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _ledger_purge_between_tests():
    """Let the test database be emptied between tests (the SQLite ledger trigger, payouts 0003)."""
    from payouts import apps

    apps.purge_allowed = True
    yield
    apps.purge_allowed = False
