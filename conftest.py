"""Fixtures shared by every app's tests: the households alice and bob, and board staff."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from accounts.roles import BOARD_STAFF_GROUP
from devices import services


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
    user.groups.add(Group.objects.get(name=BOARD_STAFF_GROUP))
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
