import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from devices import services
from devices.models import Device
from devtools.demo import DEMO_DEVICES, DEMO_USERS
from devtools.management.commands import demo_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def tokens_file(tmp_path, monkeypatch, settings):
    settings.DEBUG = True
    path = tmp_path / "tokens.json"
    monkeypatch.setattr(demo_data, "TOKENS_FILE", path)
    return path


def test_it_creates_the_demo_world_once(tokens_file):
    call_command("demo_data")
    call_command("demo_data")

    assert User.objects.count() == len(DEMO_USERS)
    assert Device.objects.count() == len(DEMO_DEVICES)
    assert Device.objects.values("area").distinct().count() == 2
    board = User.objects.get(username="board")
    assert board.is_staff and not board.is_superuser
    assert board.groups.filter(name="Board staff").exists()
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="alice").is_staff


def test_it_writes_working_tokens_for_the_fleet(tokens_file):
    call_command("demo_data")
    first = json.loads(tokens_file.read_text())
    call_command("demo_data")

    assert json.loads(tokens_file.read_text()) == first
    for entry in first.values():
        assert services.device_for_token(entry["token"]).pk == entry["device_id"]


def test_it_refuses_to_run_in_production(tokens_file, settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("demo_data")

    assert not User.objects.exists()
