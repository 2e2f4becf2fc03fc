"""The world of the orders API tests: the partners, accounts, users and products of the orders
service tests (tests/orders/conftest.py), a client per user and helpers to place and ship
through the API.

Test modules import what they use: `from tests.worlds.api_orders import *  # noqa: F401,F403`.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from orders import services
from orders.models import Order

from tests.orders.conftest import (  # noqa: F401 — fixtures re-exported for the API tests
    SHIP_DAY,
    World,
    classic_product,
    mandatory_product,
    smart_product,
    subscription_product,
    world,
)

__all__ = [
    "SHIP_DAY", "World", "classic_product", "mandatory_product", "smart_product", "subscription_product", "world",
    "api", "place_api", "placed", "ORDERS", "MOVE",
]

ORDERS = "/api/v1/orders/"
MOVE = "/api/v1/order-lines/move/"


@pytest.fixture
def api(world, api_as) -> Callable[[object], APIClient]:
    """`api(world.rita)`: a client with that user's API key; `api(None)`: anonymous."""

    def make(user) -> APIClient:
        return APIClient() if user is None else api_as(user, key=True)

    return make


@pytest.fixture
def place_api(world, api) -> Callable[..., dict]:
    """`place_api(lines, as_=world.rita, **fields)`: POST /orders/, asserting 201; the body."""

    def _place(lines: list[dict], *, as_=None, **fields) -> dict:
        body = {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example", "lines": lines, **fields}
        response = api(as_ or world.rita).post(ORDERS, body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return _place


@pytest.fixture
def placed(world) -> Callable[..., Order]:
    """`placed(lines, actor=rita, ship=False)`: an order placed (and shipped) through the services."""

    def _placed(lines: list[dict], *, actor=None, ship: bool = False, **fields) -> Order:
        fields.setdefault("end_customer_name", "Globex Corp")
        fields.setdefault("end_customer_email", "it@globex.example")
        order = services.order_place(actor=actor or world.rita, lines=lines, **fields)
        if ship:
            services.order_ship(order=order, actor=world.staff, shipped_on=SHIP_DAY)
        return order

    return _placed
