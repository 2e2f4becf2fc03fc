"""The standing cast of the API tests and a client per caller.

Cast: `staff_user` and `user` (no partner, no roles: the ordinary user) come from the top-level
conftest; here a reseller `partner` with its admin and a plain member, and an `other_partner`.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.factories import ApiKeyFactory, PartnerFactory, PartnerMembershipFactory, UserFactory
from tests.reauth import reauthenticate


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Acme Resellers")


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Other Networks")


@pytest.fixture
def partner_admin(partner):
    return PartnerMembershipFactory(partner=partner, user=UserFactory(email="admin@acme-resellers.example"),
                                    is_admin=True).user


@pytest.fixture
def partner_member(partner):
    return PartnerMembershipFactory(partner=partner, user=UserFactory(email="member@acme-resellers.example")).user


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(db) -> Callable[..., APIClient]:
    """`api_as(user)`: a client signed in with a session; `api_as(user, key=True)`: with a Bearer API key;
    `api_as(user, reauthenticated=True)`: a session that just confirmed the password (minting keys,
    closing the account)."""

    def make(user, *, key: bool = False, reauthenticated: bool = False) -> APIClient:
        client = APIClient()
        if key:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(user=user).key}")
        else:
            client.force_login(user)
            if reauthenticated:
                reauthenticate(client)
        return client

    return make


@pytest.fixture
def staff_api(api_as, staff_user) -> APIClient:
    return api_as(staff_user, key=True)


@pytest.fixture
def partner_admin_api(api_as, partner_admin) -> APIClient:
    return api_as(partner_admin, key=True)


@pytest.fixture
def partner_member_api(api_as, partner_member) -> APIClient:
    return api_as(partner_member, key=True)


@pytest.fixture
def user_api(api_as, user) -> APIClient:
    return api_as(user, key=True)
