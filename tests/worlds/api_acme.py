"""The world of the Smart Account API tests, one user per column of the DESIGN.md §3 role table.

`acme`: the customer account Acme (acme.com) with the tree

    DEFAULT ─┬─ US ── Finance ── Sacramento
             └─ EMEA

SA roles on the account; VA roles on US ("the right subtree" for anything in US) and on EMEA
("a sibling subtree"); a user with no role; a partner user who is a member of the partner's
holding account; staff. `call_as(name)` gives an API client for one of `CAST` ("anonymous": none).
Test modules import these fixtures: `from tests.worlds.api_acme import acme, call_as  # noqa: F401`.
"""
from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from accounts.models import Role

from tests.factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)

CAST = [
    "sa_admin", "sa_user", "sa_viewer",
    "va_admin", "va_user", "va_viewer",  # on US: Finance and Sacramento are in their subtree
    "va_admin_sibling", "va_user_sibling", "va_viewer_sibling",  # on EMEA
    "no_role", "holding_member", "anonymous", "staff",
]


@pytest.fixture
def acme(db, partner, staff_user) -> SimpleNamespace:
    sa = SmartAccountFactory(name="Acme", domain="acme.com")
    root = sa.default_virtual_account
    us = VirtualAccountFactory(parent=root, name="US")
    finance = VirtualAccountFactory(parent=us, name="Finance")
    sacramento = VirtualAccountFactory(parent=finance, name="Sacramento")
    emea = VirtualAccountFactory(parent=root, name="EMEA")

    users = {"staff": staff_user, "no_role": UserFactory(email="nobody@elsewhere.example")}
    for role in (Role.SA_ADMIN, Role.SA_USER, Role.SA_VIEWER):
        users[role.value] = UserFactory(email=f"{role.value.replace('_', '-')}@acme.com")
        SmartAccountRoleFactory(user=users[role.value], content_object=sa, role=role)
    for role in (Role.VA_ADMIN, Role.VA_USER, Role.VA_VIEWER):
        users[role.value] = UserFactory(email=f"{role.value.replace('_', '-')}-us@acme.com")
        VirtualAccountRoleFactory(user=users[role.value], content_object=us, role=role)
        sibling = f"{role.value}_sibling"
        users[sibling] = UserFactory(email=f"{role.value.replace('_', '-')}-emea@acme.com")
        VirtualAccountRoleFactory(user=users[sibling], content_object=emea, role=role)

    holding = HoldingAccountFactory(partner=partner, name="Acme Resellers Stock")
    users["holding_member"] = PartnerMembershipFactory(
        partner=partner, user=UserFactory(email="stock@acme-resellers.example")
    ).user
    HoldingMembershipFactory(smart_account=holding, user=users["holding_member"])

    return SimpleNamespace(
        sa=sa, root=root, us=us, finance=finance, sacramento=sacramento, emea=emea, holding=holding,
        partner=partner, users=users,
    )


@pytest.fixture
def call_as(acme, api_as) -> Callable[[str], APIClient]:
    """`call_as("va_user")`: an API client (Bearer key) for that member of the cast."""

    def make(name: str) -> APIClient:
        return APIClient() if name == "anonymous" else api_as(acme.users[name], key=True)

    return make
