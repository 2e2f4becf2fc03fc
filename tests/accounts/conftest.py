"""The standing world of the accounts tests: one customer account with a small tree, and a
partner with a holding account.

    Acme (acme.example)
    DEFAULT
    ├── EMEA
    │   └── Paris
    └── US
        ├── Finance          ← where the VA roles of the role table are granted
        │   └── Sacramento
        └── Sales
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from accounts.models import SA_ROLES, SmartAccount, VirtualAccount
from tests.factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)


def fresh(obj):
    """The row as the database has it now (MPTT renumbers lft/rght of other instances)."""
    return type(obj).objects.get(pk=obj.pk)


def give_role(user, role: str, target: SmartAccount | VirtualAccount):
    """Write a role row directly (tests of role services call the services instead)."""
    if role in SA_ROLES:
        return SmartAccountRoleFactory(user=user, content_object=target, role=role)
    return VirtualAccountRoleFactory(user=user, content_object=target, role=role)


@pytest.fixture
def acme(db) -> SimpleNamespace:
    sa = SmartAccountFactory(name="Acme", domain="acme.example")
    root = sa.default_virtual_account
    us = VirtualAccountFactory(parent=root, name="US")
    emea = VirtualAccountFactory(parent=fresh(root), name="EMEA")
    paris = VirtualAccountFactory(parent=emea, name="Paris")
    finance = VirtualAccountFactory(parent=fresh(us), name="Finance")
    sacramento = VirtualAccountFactory(parent=finance, name="Sacramento")
    sales = VirtualAccountFactory(parent=fresh(us), name="Sales")
    return SimpleNamespace(
        sa=sa, root=fresh(root), us=fresh(us), emea=fresh(emea), paris=fresh(paris),
        finance=fresh(finance), sacramento=fresh(sacramento), sales=fresh(sales),
    )


@pytest.fixture
def acme_admin(acme):
    """The SA admin of Acme (its email domain is Acme's)."""
    user = UserFactory(email="admin@acme.example", name="Ada Admin")
    give_role(user, "sa_admin", acme.sa)
    return user


@pytest.fixture
def partner(db):
    return PartnerFactory(name="Northwind Networks")


@pytest.fixture
def partner_user(partner):
    user = UserFactory(email="pat@northwind.example", name="Pat Partner")
    PartnerMembershipFactory(partner=partner, user=user)
    return user


@pytest.fixture
def partner_admin(partner):
    user = UserFactory(email="boss@northwind.example", name="Bo Boss")
    PartnerMembershipFactory(partner=partner, user=user, is_admin=True)
    return user


@pytest.fixture
def holding(partner):
    return HoldingAccountFactory(name="Northwind parking", partner=partner)


@pytest.fixture
def holding_member(holding, partner):
    user = UserFactory(email="member@northwind.example")
    PartnerMembershipFactory(partner=partner, user=user)
    HoldingMembershipFactory(smart_account=holding, user=user)
    return user
