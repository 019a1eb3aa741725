import pytest
from django.core.exceptions import ValidationError

from devices import services, tokens
from devices.models import Area, Device

pytestmark = pytest.mark.django_db


def test_it_mints_tokens_with_more_than_160_random_bits():
    token = tokens.mint_token()

    random_part = token.removeprefix(tokens.TOKEN_MARK)
    assert len(random_part) * 6 >= 160  # URL-safe base64: 6 bits a character
    assert len({tokens.mint_token() for _ in range(1000)}) == 1000


def test_it_stores_only_a_hash_and_a_short_prefix_of_the_token(alice, register_device):
    device, token = register_device(alice)

    stored = Device.objects.filter(pk=device.pk).values().get()
    assert token not in [str(value) for value in stored.values()]
    assert stored["token_hash"] == tokens.hash_token(token)
    assert token.startswith(stored["token_prefix"]) and len(stored["token_prefix"]) < 12


def test_it_finds_the_device_of_a_token(alice, register_device):
    device, token = register_device(alice)

    assert services.device_for_token(token) == device
    assert services.device_for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert services.device_for_token("") is None


def test_a_revoked_token_finds_nothing(alice, register_device):
    device, token = register_device(alice)

    services.device_revoke(device=device)

    assert device.is_revoked
    assert services.device_for_token(token) is None


def test_a_regenerated_token_replaces_the_old_one(alice, register_device):
    device, old_token = register_device(alice)

    new_token = services.device_regenerate_token(device=device)

    assert services.device_for_token(old_token) is None
    assert services.device_for_token(new_token) == device


def test_it_creates_the_area_when_it_is_new(alice, register_device):
    register_device(alice, area_code="KA-BLR-003")

    assert Area.objects.filter(code="KA-BLR-003").exists()


def test_it_refuses_a_device_with_no_consumption_and_stores_nothing(alice, register_device):
    with pytest.raises(ValidationError):
        register_device(alice, units="0")

    assert not Device.objects.exists()
    assert not Area.objects.exists()
