"""The partners, accounts and products of the orders tests, and a helper to place an order.

    Resale Co (reseller)          rita (member of its holding account, notified), ralf (member, not
      └ holding "Resale Holding"   notified), rosa (partner colleague, not a member)
    Big Distribution (distributor, linked to Resale Co)   dora; its own holding "Distri Holding"
    Other Reseller (not linked)   otto; holding "Other Holding"
    Globex (globex.example, active)   gina is SA admin; VAs DEFAULT > Finance
    Initech (initech.example, new)    ivan is its named contact
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from accounts.models import PartnerKind, Role, SmartAccount, SmartAccountStatus, User, VirtualAccount
from orders import services
from orders.models import Order

from ..factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)

SHIP_DAY = datetime.date(2025, 1, 31)


@dataclass
class World:
    reseller: object
    distributor: object
    other_partner: object
    rita: User
    ralf: User
    rosa: User
    dora: User
    otto: User
    holding: SmartAccount
    distri_holding: SmartAccount
    other_holding: SmartAccount
    globex: SmartAccount
    globex_finance: VirtualAccount
    gina: User
    initech: SmartAccount
    ivan: User
    staff: User
    outsider: User


def _member(partner, email, **kwargs) -> User:
    user = UserFactory(email=email)
    PartnerMembershipFactory(partner=partner, user=user, **kwargs)
    return user


@pytest.fixture
def world(db) -> World:
    reseller = PartnerFactory(name="Resale Co")
    distributor = PartnerFactory(name="Big Distribution", kind=PartnerKind.DISTRIBUTOR)
    distributor.linked_resellers.add(reseller)
    other_partner = PartnerFactory(name="Other Reseller")
    rita, ralf, rosa = (_member(reseller, f"{n}@resale.example") for n in ("rita", "ralf", "rosa"))
    dora = _member(distributor, "dora@distri.example")
    otto = _member(other_partner, "otto@other.example")
    holding = HoldingAccountFactory(name="Resale Holding", partner=reseller)
    HoldingMembershipFactory(smart_account=holding, user=rita, notify=True)
    HoldingMembershipFactory(smart_account=holding, user=ralf, notify=False)
    distri_holding = HoldingAccountFactory(name="Distri Holding", partner=distributor)
    HoldingMembershipFactory(smart_account=distri_holding, user=dora)
    other_holding = HoldingAccountFactory(name="Other Holding", partner=other_partner)
    HoldingMembershipFactory(smart_account=other_holding, user=otto)

    globex = SmartAccountFactory(name="Globex", domain="globex.example")
    gina = UserFactory(email="gina@globex.example")
    SmartAccountRoleFactory(user=gina, content_object=globex, role=Role.SA_ADMIN)
    finance = VirtualAccountFactory(parent=globex.default_virtual_account, name="Finance")
    ivan = UserFactory(email="ivan@initech.example")
    initech = SmartAccountFactory(
        name="Initech", domain="initech.example", status=SmartAccountStatus.NEW, activated_at=None,
        contact=ivan, partner=reseller, requested_by=rita,
    )
    return World(
        reseller=reseller, distributor=distributor, other_partner=other_partner, rita=rita, ralf=ralf, rosa=rosa,
        dora=dora, otto=otto, holding=holding, distri_holding=distri_holding, other_holding=other_holding,
        globex=globex, globex_finance=finance, gina=gina, initech=initech, ivan=ivan,
        staff=UserFactory(email="stella@vendor.example", is_staff=True, powers="all"), outsider=UserFactory(email="olga@elsewhere.example"),
    )


@pytest.fixture
def smart_product(db):
    return ProductFactory(sku="ISR-SEC-K9", name="ISR Security")


@pytest.fixture
def subscription_product(db):
    return ProductFactory(sku="DNA-ADV-1Y", name="DNA Advantage", term_months=12)


@pytest.fixture
def classic_product(db):
    return ProductFactory(sku="ASA-PAK-50", name="ASA 50 users", classic=True)


@pytest.fixture
def mandatory_product(db):
    return ProductFactory(sku="C9300-DNA-E", name="Catalyst DNA Essentials", sa_required=True)


@pytest.fixture
def place(world):
    """`place(lines, actor=rita, **fields)`: an order placed through the service."""

    def _place(lines, *, actor=None, **fields) -> Order:
        fields.setdefault("end_customer_name", "Globex Corp")
        fields.setdefault("end_customer_email", "it@globex.example")
        return services.order_place(actor=actor or world.rita, lines=lines, **fields)

    return _place
