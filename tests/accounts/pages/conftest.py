"""The standing cast of the page tests.

    Northwind Networks (reseller)        Southwind Systems (reseller)
      boss@northwind.example  (admin)      sam@southwind.example
      pat@northwind.example   (member)
      Northwind parking (holding account; nobody joined yet)

plus the top-level `user` (no partner, no roles) and `staff_user`, and customer accounts made
per test. `as_user(user)` signs the test client in.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.html import field_error, html  # noqa: F401 (the page tests import them from here)
from tests.factories import HoldingAccountFactory, PartnerFactory, PartnerMembershipFactory, UserFactory


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Northwind Networks")


@pytest.fixture
def partner_admin(partner):
    return PartnerMembershipFactory(partner=partner, user=UserFactory(email="boss@northwind.example", name="Bo Boss"),
                                    is_admin=True).user


@pytest.fixture
def partner_member(partner):
    return PartnerMembershipFactory(partner=partner, user=UserFactory(email="pat@northwind.example", name="Pat Partner")).user


@pytest.fixture
def holding(partner):
    return HoldingAccountFactory(name="Northwind parking", partner=partner)


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Southwind Systems")


@pytest.fixture
def other_partner_member(other_partner):
    return PartnerMembershipFactory(partner=other_partner, user=UserFactory(email="sam@southwind.example")).user


@pytest.fixture
def as_user(client) -> Callable:
    def login(user):
        client.force_login(user)
        return client

    return login
