"""Vendor powers follow Django permissions (issue 21, finding 7): every staff endpoint, in the API
and the pages, answers each vendor group's member — allowed only with the matching group, as
`seed_demo` makes them. A staff user with no permission sees the back office but changes nothing
(ships nothing, creates no partner, product or user); a superuser holds every power.

Each row says which power it needs, the answer with that power, and the answer without it (403
where the staff user sees the thing but may not act; 404 where even seeing it is the power)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Partner, SmartAccount, SmartAccountStatus, SupportMessage, User
from accounts.permissions import POWER_GROUP_NAME, POWER_GROUP_PERMISSIONS, Power
from licensing.models import Product
from orders.models import OrderLine, OrderLineState
from tests.factories import (
    OrderLineFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    SupportCaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NO_POWER = "no permission"
SUPERUSER = "superuser"
CALLERS = (*(power.value for power in Power), NO_POWER, SUPERUSER)


@dataclass(frozen=True)
class World:
    partner: Partner
    order_id: int
    new_account_id: int
    case_id: int


@dataclass(frozen=True)
class Row:
    label: str
    power: Power
    call: Callable[[APIClient, Client, World], object]  # the response
    ok: int
    refused: int
    done: Callable[[World], bool] | None  # did the call change what it asks to change? (None: a read)


def _group(power: Power) -> Group:
    """The group `seed_demo` makes for a power, with the same permissions."""
    group, _ = Group.objects.get_or_create(name=POWER_GROUP_NAME[power])
    for label in POWER_GROUP_PERMISSIONS[power]:
        app_label, codename = label.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


def _caller(name: str) -> User:
    if name == SUPERUSER:
        return UserFactory(email="root@vendor.example", is_staff=True, is_superuser=True)
    user = UserFactory(email=f"{name.replace(' ', '-')}@vendor.example", is_staff=True)
    if name != NO_POWER:
        user.groups.add(_group(Power(name)))
    return user


@pytest.fixture
def world() -> World:
    partner = PartnerFactory(name="Contoso Networks")
    PartnerMembershipFactory(partner=partner, is_admin=True)
    customer = SmartAccountFactory(name="Acme")
    line = OrderLineFactory(order__partner=partner, smart_account=customer)
    contact = UserFactory(email="carol@initech.example")
    new_account = SmartAccountFactory(new=True, name="Initech", contact=contact)
    case = SupportCaseFactory(user=UserFactory(email="una@acme.example"), subject="Help")
    return World(partner=partner, order_id=line.order_id, new_account_id=new_account.pk, case_id=case.pk)


def _shipped(w: World) -> bool:
    return not OrderLine.objects.filter(order_id=w.order_id, state=OrderLineState.BOOKED).exists()


def _status(pk: int) -> str:
    return SmartAccount.objects.get(pk=pk).status


ROWS = (
    Row("API: add a product", Power.CATALOGUE,
        lambda api, page, w: api.post("/api/v1/products/", {"sku": "L-NEW-1Y", "name": "New", "family": "Routing"},
                                      format="json"),
        ok=201, refused=403, done=lambda w: Product.objects.filter(sku="L-NEW-1Y").exists()),
    Row("API: create a partner", Power.PARTNERS,
        lambda api, page, w: api.post("/api/v1/partners/", {"name": "Fabrikam IT", "kind": "reseller"}, format="json"),
        ok=201, refused=403, done=lambda w: Partner.objects.filter(name="Fabrikam IT").exists()),
    Row("API: invite a member to any partner", Power.PARTNERS,
        lambda api, page, w: api.post(f"/api/v1/partners/{w.partner.pk}/members/", {"email": "new@contoso.example"},
                                      format="json"),
        ok=202, refused=403, done=lambda w: w.partner.invitations.exists()),
    Row("API: list any partner's invitations", Power.PARTNERS,
        lambda api, page, w: api.get(f"/api/v1/partners/{w.partner.pk}/invitations/"),
        ok=200, refused=403, done=None),
    Row("API: ship an order", Power.FULFILMENT,
        lambda api, page, w: api.post(f"/api/v1/orders/{w.order_id}/ship/", {}, format="json"),
        ok=200, refused=403, done=_shipped),
    Row("page: ship an order", Power.FULFILMENT,
        lambda api, page, w: page.post(f"/orders/{w.order_id}/ship/"),
        ok=302, refused=403, done=_shipped),
    Row("API: every user's support cases", Power.SUPPORT,
        lambda api, page, w: api.get("/api/v1/support-cases/?all=true"),
        ok=200, refused=403, done=None),
    Row("API: another user's support case", Power.SUPPORT,
        lambda api, page, w: api.get(f"/api/v1/support-cases/{w.case_id}/"),
        ok=200, refused=404, done=None),
    Row("API: answer another user's support case", Power.SUPPORT,
        lambda api, page, w: api.post(f"/api/v1/support-cases/{w.case_id}/messages/", {"body": "On it."},
                                      format="json"),
        ok=201, refused=404, done=lambda w: SupportMessage.objects.filter(case_id=w.case_id, from_staff=True).exists()),
    Row("API: activate an account for its contact", Power.ACCOUNTS,
        lambda api, page, w: api.post(f"/api/v1/smart-accounts/{w.new_account_id}/activate/", {}, format="json"),
        ok=200, refused=403, done=lambda w: _status(w.new_account_id) == SmartAccountStatus.ACTIVE),
    Row("API: register a user", Power.USERS,
        lambda api, page, w: api.post("/api/v1/users/", {"email": "hire@vendor.example", "password": "Str0ng-pass-99"},
                                      format="json"),
        ok=201, refused=403, done=lambda w: User.objects.filter(email="hire@vendor.example").exists()),
)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.label)
def test_a_vendor_power_needs_its_group(world, row, caller):
    user = _caller(caller)
    api, page = APIClient(), Client()
    api.force_login(user)
    page.force_login(user)
    allowed = caller == SUPERUSER or caller == row.power.value

    response = row.call(api, page, world)

    assert response.status_code == (row.ok if allowed else row.refused), (row.label, caller, response.content[:300])
    if row.done is not None:
        assert row.done(world) is allowed


def test_staff_with_no_permission_ship_nothing_and_create_no_partner_product_or_user(world):
    staff = _caller(NO_POWER)
    api = APIClient()
    api.force_login(staff)
    partners, products, users = Partner.objects.count(), Product.objects.count(), User.objects.count()

    assert api.post(f"/api/v1/orders/{world.order_id}/ship/", {}, format="json").status_code == 403
    assert api.post("/api/v1/partners/", {"name": "Fabrikam IT", "kind": "reseller"}, format="json").status_code == 403
    assert api.post("/api/v1/products/", {"sku": "L-NEW-1Y", "name": "New", "family": "Routing"},
                    format="json").status_code == 403
    assert api.post("/api/v1/users/", {"email": "hire@vendor.example", "password": "Str0ng-pass-99"},
                    format="json").status_code == 403

    assert not _shipped(world)
    assert (Partner.objects.count(), Product.objects.count(), User.objects.count()) == (partners, products, users)
    # They still see the back office: the order, the partner and the accounts (reading is not a power).
    assert api.get(f"/api/v1/orders/{world.order_id}/").status_code == 200
    assert api.get(f"/api/v1/partners/{world.partner.pk}/").status_code == 200
    assert api.get(f"/api/v1/smart-accounts/{world.new_account_id}/").status_code == 200
    assert _status(world.new_account_id) == SmartAccountStatus.NEW


def test_the_order_page_offers_shipping_only_to_fulfilment_staff(world):
    for caller, offered in ((Power.FULFILMENT.value, True), (Power.CATALOGUE.value, False), (NO_POWER, False)):
        page = Client()
        page.force_login(_caller(caller))
        response = page.get(f"/orders/{world.order_id}/")
        assert response.status_code == 200
        assert response.context["can_ship"] is offered, caller
