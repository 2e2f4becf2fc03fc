"""DESIGN.md §6: every page runs a number of queries that does not grow with the data.

Each test builds a small world, adds rows of whatever the page lists (2 of them), counts the
queries of one request, adds more rows (up to 20), counts again, and asserts the counts agree.
"""
from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.models import AccessRequestStatus, InvitationPurpose, PartnerKind, Role
from accounts.selectors import search_reference
from orders.models import OrderLineState

from ..factories import (
    AccessRequestFactory,
    ApiKeyFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    InvitationFactory,
    OrderFactory,
    OrderLineFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)
from ..querycount import assert_constant, at_two_sizes

pytestmark = pytest.mark.django_db


def assert_len(items, expected: int) -> None:
    assert len(items) == expected, (len(items), expected)


# --- /sa/ and /sa/find/ ------------------------------------------------------------------------


def test_account_list(client):
    user = UserFactory(email="una@list.example")
    partner = PartnerFactory()
    PartnerMembershipFactory(partner=partner, user=user)

    def grow(start, stop):
        for i in range(start, stop):
            SmartAccountRoleFactory(user=user, content_object=SmartAccountFactory(partner=partner),
                                    role=Role.SA_ADMIN if i % 2 else Role.SA_USER)
            VirtualAccountRoleFactory(user=user, content_object=VirtualAccountFactory(),
                                      role=Role.VA_ADMIN if i % 2 else Role.VA_VIEWER)
            HoldingMembershipFactory(user=user, smart_account=HoldingAccountFactory(partner=partner))
            AccessRequestFactory(requester=user, smart_account=SmartAccountFactory())

    client.force_login(user)
    small, large = at_two_sizes(client, grow, "/sa/")
    assert_constant(small, large, "/sa/")


def test_account_find(client):
    user = UserFactory(email="una@shared.example")
    client.force_login(user)

    def grow(start, stop):
        for i in range(start, stop):
            sa = SmartAccountFactory(domain="shared.example", name=f"Shared {i:03d}")
            if i % 3 == 0:
                SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_USER)
            elif i % 3 == 1:
                AccessRequestFactory(requester=user, smart_account=sa)
            else:
                AccessRequestFactory(requester=user, smart_account=sa, status=AccessRequestStatus.DENIED)
            AccessRequestFactory(requester=user, smart_account=SmartAccountFactory())  # "my requests"

    small, large = at_two_sizes(client, grow, "/sa/find/?domain=shared.example",
                                check=lambda r, n: assert_len(r.context["results"], n))
    assert_constant(small, large, "/sa/find/")


# --- /sa/<pk>/users/ ---------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", ["sa_admin", "va_admin"])
def test_account_users(client, viewer):
    admin = UserFactory(email="ada@users.example")
    sa = SmartAccountFactory(domain="users.example")
    SmartAccountRoleFactory(user=admin, content_object=sa, role=Role.SA_ADMIN)
    va_admin = UserFactory(email="vic@users.example")
    top = VirtualAccountFactory(parent=sa.default_virtual_account, name="Top")
    VirtualAccountRoleFactory(user=va_admin, content_object=top, role=Role.VA_ADMIN)
    partner = PartnerFactory()

    def grow(start, stop):
        for i in range(start, stop):
            va = VirtualAccountFactory(parent=top, name=f"Child {i:03d}")
            sa_user = UserFactory()
            SmartAccountRoleFactory(user=sa_user, content_object=sa, role=Role.SA_USER if i % 2 else Role.SA_ADMIN,
                                    granted_by=admin)
            va_user = UserFactory()
            VirtualAccountRoleFactory(user=va_user, content_object=va, role=Role.VA_VIEWER, granted_by=admin)
            PartnerMembershipFactory(partner=partner, user=va_user)
            request = AccessRequestFactory(smart_account=sa)
            request.requested_virtual_accounts.add(va, top)

    client.force_login(admin if viewer == "sa_admin" else va_admin)
    small, large = at_two_sizes(client, grow, f"/sa/{sa.pk}/users/",
                                check=lambda r, n: assert_len(r.context["va_roles"], n + 1))
    assert_constant(small, large, f"/sa/<pk>/users/ as {viewer}")


# --- partner pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PartnerKind.RESELLER, PartnerKind.DISTRIBUTOR])
def test_partner_detail(client, kind):
    partner = PartnerFactory(kind=kind)
    boss = PartnerMembershipFactory(partner=partner, is_admin=True).user

    def grow(start, stop):
        for i in range(start, stop):
            PartnerMembershipFactory(partner=partner, is_admin=i % 2 == 0)
            # A pending invitation, listed with who sent it.
            InvitationFactory(purpose=InvitationPurpose.JOIN_PARTNER, smart_account=None, partner=partner,
                              invited_by=PartnerMembershipFactory(partner=partner, is_admin=True).user)
            if kind == PartnerKind.DISTRIBUTOR:
                partner.linked_resellers.add(PartnerFactory())
            else:
                partner.distributors.add(PartnerFactory(kind=PartnerKind.DISTRIBUTOR))

    client.force_login(boss)
    small, large = at_two_sizes(client, grow, "/partner/")
    assert_constant(small, large, f"/partner/ ({kind})")


def test_holding_account_list(client):
    partner = PartnerFactory()
    boss = PartnerMembershipFactory(partner=partner, is_admin=True).user
    first = HoldingAccountFactory(partner=partner, name="Holding 000")
    HoldingMembershipFactory(smart_account=first, user=boss)

    def grow(start, stop):
        for i in range(start, stop):
            member = PartnerMembershipFactory(partner=partner).user
            holding = HoldingAccountFactory(partner=partner, name=f"Holding {i + 1:03d}")
            HoldingMembershipFactory(smart_account=holding, user=member, notify=i % 2 == 0)
            HoldingMembershipFactory(smart_account=first, user=member)
            if i % 2:
                HoldingMembershipFactory(smart_account=holding, user=boss)

    client.force_login(boss)
    small, large = at_two_sizes(client, grow, "/partner/holding-accounts/",
                                check=lambda r, n: assert_len(r.context["accounts"], n + 1))
    assert_constant(small, large, "/partner/holding-accounts/")


# --- profile, support, privacy -------------------------------------------------------------------


def test_api_key_list(client):
    user = UserFactory()

    def grow(start, stop):
        for i in range(start, stop):
            ApiKeyFactory(user=user, revoked_at=timezone.now() if i % 3 == 0 else None,
                          last_used_at=timezone.now() if i % 2 else None)

    client.force_login(user)
    small, large = at_two_sizes(client, grow, "/profile/api-keys/",
                                check=lambda r, n: assert_len(r.context["keys"], n))
    assert_constant(small, large, "/profile/api-keys/")


def test_support_case_list(client):
    user = UserFactory()
    staff = UserFactory(is_staff=True)

    def grow(start, stop):
        for i in range(start, stop):
            sa = SmartAccountFactory()
            SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_USER)
            case = SupportCaseFactory(user=user, smart_account=sa if i % 2 else None, order_number=f"SO-{i}")
            SupportMessageFactory(case=case)
            SupportMessageFactory(case=case, author=staff, from_staff=True)

    client.force_login(user)
    small, large = at_two_sizes(client, grow, "/support/",
                                check=lambda r, n: assert_len(r.context["cases"], n))
    assert_constant(small, large, "/support/")


def test_support_case_detail(client):
    user = UserFactory()
    sa = SmartAccountFactory()
    case = SupportCaseFactory(user=user, smart_account=sa)

    def grow(start, stop):
        for i in range(start, stop):
            if i % 2:
                SupportMessageFactory(case=case, author=UserFactory(is_staff=True), from_staff=True, body=f"Answer {i}")
            else:
                SupportMessageFactory(case=case, body=f"Question {i}")

    client.force_login(user)
    small, large = at_two_sizes(client, grow, f"/support/{case.pk}/")
    assert_constant(small, large, "/support/<pk>/")


def test_privacy_overview(client):
    user = UserFactory()
    partner = PartnerFactory()
    PartnerMembershipFactory(partner=partner, user=user)

    def grow(start, stop):
        for i in range(start, stop):
            SmartAccountRoleFactory(user=user, content_object=SmartAccountFactory(), role=Role.SA_ADMIN)
            VirtualAccountRoleFactory(user=user, content_object=VirtualAccountFactory(), role=Role.VA_USER)
            HoldingMembershipFactory(user=user, smart_account=HoldingAccountFactory(partner=partner))
            AccessRequestFactory(requester=user)
            SupportMessageFactory(case=SupportCaseFactory(user=user))
            ApiKeyFactory(user=user)

    client.force_login(user)
    small, large = at_two_sizes(client, grow, "/privacy/")
    assert_constant(small, large, "/privacy/")


# --- orders ----------------------------------------------------------------------------------


def test_delegated_line_list(client):
    user = UserFactory(email="gina@globex.example")
    partner = PartnerFactory()
    SmartAccountRoleFactory(user=user, content_object=SmartAccountFactory(domain="globex.example"), role=Role.SA_ADMIN)

    def grow(start, stop):
        for i in range(start, stop):
            order = OrderFactory(partner=partner, reseller=PartnerFactory() if i % 2 else None,
                                 end_customer_email="Gina@globex.example")
            OrderLineFactory(order=order, delegated=True, product=ProductFactory(term_months=12 if i % 2 else None),
                             state=OrderLineState.AWAITING_ACCOUNT if i % 2 else OrderLineState.BOOKED)

    client.force_login(user)
    small, large = at_two_sizes(client, grow, "/orders/delegated/",
                                check=lambda r, n: assert_len(r.context["lines"], n))
    assert_constant(small, large, "/orders/delegated/")


def _partner_with_holding():
    reseller = PartnerFactory()
    rita = PartnerMembershipFactory(partner=reseller).user
    holding = HoldingAccountFactory(partner=reseller, name="Resale Holding")
    HoldingMembershipFactory(smart_account=holding, user=rita)
    return reseller, rita, holding


def test_order_place_form(client):
    reseller, rita, _ = _partner_with_holding()
    distributor = PartnerFactory(kind=PartnerKind.DISTRIBUTOR)
    distributor.linked_resellers.add(reseller)

    def grow(start, stop):
        for i in range(start, stop):
            ProductFactory(term_months=12 if i % 2 else None, sa_required=i % 3 == 0)
            HoldingAccountFactory(partner=reseller if i % 2 else distributor)

    client.force_login(rita)
    small, large = at_two_sizes(client, grow, "/orders/new/",
                                check=lambda r, n: assert_len(r.context["products"], n))
    assert_constant(small, large, "/orders/new/")


def test_order_place_form_redisplayed_with_lines(client):
    """An invalid POST redisplays every line with its product and chosen customer account."""
    _, rita, _ = _partner_with_holding()
    accounts = []

    def data() -> dict:
        lines = {}
        for i, sa in enumerate(accounts):
            lines.update({
                f"lines-{i}-product": f"QC-{i:05d}", f"lines-{i}-quantity": "1", f"lines-{i}-assignment": "customer",
                f"lines-{i}-smart_account": search_reference(smart_account=sa, user=rita),
            })
        return {"end_customer_name": "", "end_customer_email": "", "lines-TOTAL_FORMS": str(len(accounts)),
                "lines-INITIAL_FORMS": "0", **lines}

    def grow(start, stop):
        for i in range(start, stop):
            ProductFactory(sku=f"QC-{i:05d}")
            sa = SmartAccountFactory()
            VirtualAccountFactory(parent=sa.default_virtual_account)
            accounts.append(sa)

    client.force_login(rita)
    small, large = at_two_sizes(client, grow, "/orders/new/", method="post", data=data,
                                check=lambda r, n: assert_len(r.context["formset"].forms, n))
    assert_constant(small, large, "POST /orders/new/ (invalid, redisplayed)")


def test_order_place_form_with_holding_lines_redisplayed(client):
    """Valid holding lines and one bad quantity: the formset validates every line and redisplays them."""
    _, rita, holding = _partner_with_holding()
    lines = []

    def data() -> dict:
        fields = {}
        for i, product in enumerate(lines):
            fields.update({
                f"lines-{i}-product": product.sku, f"lines-{i}-quantity": "0" if i == 0 else "1",
                f"lines-{i}-assignment": "holding", f"lines-{i}-holding_account": str(holding.pk),
            })
        return {"end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
                "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", **fields}

    def grow(start, stop):
        for i in range(start, stop):
            lines.append(ProductFactory(sku=f"QH-{i:05d}"))

    client.force_login(rita)
    small, large = at_two_sizes(client, grow, "/orders/new/", method="post", data=data,
                                check=lambda r, n: assert_len(r.context["formset"].forms, n))
    assert_constant(small, large, "POST /orders/new/ (holding lines, invalid, redisplayed)")


def test_held_line_move_confirmation(client):
    reseller, rita, holding = _partner_with_holding()
    other_holding = HoldingAccountFactory(partner=reseller)
    HoldingMembershipFactory(smart_account=other_holding, user=rita)
    customer = SmartAccountFactory(name="Globex", domain="globex.example")
    finance = VirtualAccountFactory(parent=customer.default_virtual_account, name="Finance")
    today = timezone.localdate()
    line_ids = []

    def grow(start, stop):
        for i in range(start, stop):
            where = holding if i % 2 else other_holding
            subscription = i % 2 == 0
            order = OrderFactory(partner=reseller, placed_by=rita)
            line = OrderLineFactory(
                order=order, product=ProductFactory(term_months=12 if subscription else None),
                state=OrderLineState.HELD, smart_account=where, held_in=where,
                virtual_account=where.default_virtual_account,
                shipped_on=today - datetime.timedelta(days=i + 1),
                starts_on=today - datetime.timedelta(days=i + 1) if subscription else None,
                ends_on=today + datetime.timedelta(days=365 - i) if subscription else None,
            )
            line_ids.append(line.pk)

    def data() -> dict:
        return {"move-lines": [str(pk) for pk in line_ids] + ["999999"], "move-smart_account": search_reference(smart_account=customer, user=rita),
                "move-virtual_account": str(finance.pk)}

    client.force_login(rita)
    small, large = at_two_sizes(client, grow, "/orders/holding/move/", method="post", data=data,
                                check=lambda r, n: assert_len(r.context["movable_ids"], n))
    assert_constant(small, large, "POST /orders/holding/move/ (confirmation step)")
