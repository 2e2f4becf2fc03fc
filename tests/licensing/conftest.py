"""A small customer account for licensing tests and its standing cast, one user per role.

    Acme (example.com)
      DEFAULT (root)
        Europe
        US            ← va_user and va_viewer hold their role here (US and below)
          Finance
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import Role, SmartAccount, User, VirtualAccount
from accounts.services import role_grant, smart_account_create, virtual_account_create

from ..factories import ProductFactory, UserFactory


@dataclass
class Acme:
    account: SmartAccount
    root: VirtualAccount
    us: VirtualAccount
    finance: VirtualAccount
    europe: VirtualAccount
    admin: User
    sa_user: User
    sa_viewer: User
    va_user: User
    va_viewer: User
    outsider: User


@pytest.fixture
def acme(db) -> Acme:
    admin = UserFactory(email="ada@example.com")
    account = smart_account_create(name="Acme", domain="example.com", actor=admin)
    root = account.default_virtual_account
    us = virtual_account_create(parent=root, name="US", actor=admin)
    europe = virtual_account_create(parent=root, name="Europe", actor=admin)
    finance = virtual_account_create(parent=us, name="Finance", actor=admin)
    cast = {}
    for name, role, va in (
        ("sa_user", Role.SA_USER, None),
        ("sa_viewer", Role.SA_VIEWER, None),
        ("va_user", Role.VA_USER, us),
        ("va_viewer", Role.VA_VIEWER, us),
    ):
        cast[name] = UserFactory(email=f"{name.replace('_', '.')}@example.com")
        role_grant(smart_account=account, email=cast[name].email, role=role, virtual_account=va, actor=admin)
    refresh = VirtualAccount.objects.in_bulk([root.pk, us.pk, europe.pk, finance.pk])
    return Acme(
        account=account, root=refresh[root.pk], us=refresh[us.pk], finance=refresh[finance.pk],
        europe=refresh[europe.pk], admin=admin, outsider=UserFactory(email="olga@elsewhere.example"), **cast,
    )


@pytest.fixture
def product(db):
    return ProductFactory(sku="ISR-SEC-K9", name="ISR Security")


@pytest.fixture
def subscription_product(db):
    return ProductFactory(sku="DNA-ADV-1Y", name="DNA Advantage", subscription=True)
