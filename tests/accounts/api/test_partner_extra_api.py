"""The partner pages through the API: a partner's admins (and staff) make members admins or remove
them (/api/v1/partners/{id}/members/{member_id}/), and its members see the customers it manages
(/api/v1/partners/{id}/customers/)."""
from __future__ import annotations

import pytest

from accounts.models import HoldingMembership, PartnerMembership, Role

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

pytestmark = pytest.mark.django_db


def member_url(membership: PartnerMembership) -> str:
    return f"/api/v1/partners/{membership.partner_id}/members/{membership.pk}/"


def customers_url(partner) -> str:
    return f"/api/v1/partners/{partner.pk}/customers/"


# --- members: admin flag and removal ----------------------------------------------------------


def test_a_partner_admin_makes_a_member_admin_and_back(partner_admin_api, partner_member):
    membership = partner_member.partner_membership
    response = partner_admin_api.patch(member_url(membership), {"is_admin": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_admin"] is True
    assert PartnerMembership.objects.get(pk=membership.pk).is_admin

    assert partner_admin_api.patch(member_url(membership), {"is_admin": False}, format="json").status_code == 200
    assert not PartnerMembership.objects.get(pk=membership.pk).is_admin


def test_a_partner_admin_removes_a_member_and_their_holding_memberships(partner_admin_api, partner, partner_member):
    stock = HoldingAccountFactory(partner=partner)
    HoldingMembershipFactory(smart_account=stock, user=partner_member)

    assert partner_admin_api.delete(member_url(partner_member.partner_membership)).status_code == 204

    assert not PartnerMembership.objects.filter(user=partner_member).exists()
    assert not HoldingMembership.objects.filter(user=partner_member).exists()


def test_partner_member_removal_by_a_non_admin_is_403(partner_member_api, partner_admin, partner_member):
    admin_membership = partner_admin.partner_membership
    assert partner_member_api.delete(member_url(admin_membership)).status_code == 403
    own = partner_member.partner_membership
    assert partner_member_api.patch(member_url(own), {"is_admin": True}, format="json").status_code == 403
    assert PartnerMembership.objects.filter(partner=admin_membership.partner).count() == 2
    assert not PartnerMembership.objects.get(pk=own.pk).is_admin


@pytest.mark.parametrize("caller", ["partner_admin_api", "staff_api"])
def test_the_last_admin_cannot_be_demoted_or_removed(caller, request, partner_admin):
    client = request.getfixturevalue(caller)
    membership = partner_admin.partner_membership

    demoted = client.patch(member_url(membership), {"is_admin": False}, format="json")
    removed = client.delete(member_url(membership))

    assert demoted.status_code == 400 and list(demoted.json()) == ["is_admin"]
    assert removed.status_code == 400 and "A partner keeps at least one admin." in str(removed.json())
    assert PartnerMembership.objects.get(pk=membership.pk).is_admin


def test_an_admin_steps_down_once_another_admin_exists(partner_admin_api, partner_admin, partner_member):
    partner_admin_api.patch(member_url(partner_member.partner_membership), {"is_admin": True}, format="json")
    assert partner_admin_api.delete(member_url(partner_admin.partner_membership)).status_code == 204
    assert PartnerMembership.objects.get(user=partner_member).is_admin


def test_staff_manage_any_partners_members(staff_api, partner_admin, partner_member):
    membership = partner_member.partner_membership
    assert staff_api.patch(member_url(membership), {"is_admin": True}, format="json").status_code == 200
    assert staff_api.delete(member_url(membership)).status_code == 204


def test_members_of_another_partner_are_404(partner_admin_api, partner, other_partner):
    theirs = PartnerMembershipFactory(partner=other_partner, is_admin=True)
    assert partner_admin_api.delete(member_url(theirs)).status_code == 404
    assert partner_admin_api.patch(member_url(theirs), {"is_admin": False}, format="json").status_code == 404
    # Naming their member under one's own partner finds nothing either.
    own_partner_path = f"/api/v1/partners/{partner.pk}/members/{theirs.pk}/"
    assert partner_admin_api.delete(own_partner_path).status_code == 404
    assert PartnerMembership.objects.filter(pk=theirs.pk, is_admin=True).exists()


def test_member_changes_need_a_signed_in_user_and_a_boolean(anon, partner_admin_api, partner_member):
    membership = partner_member.partner_membership
    assert anon.delete(member_url(membership)).status_code == 401
    assert anon.patch(member_url(membership), {"is_admin": True}, format="json").status_code == 401
    for body in ({}, {"is_admin": "perhaps"}):
        response = partner_admin_api.patch(member_url(membership), body, format="json")
        assert response.status_code == 400 and list(response.json()) == ["is_admin"]


# --- customers managed ---------------------------------------------------------------------------


@pytest.fixture
def world(partner, partner_admin, partner_member, other_partner, user):
    """Acme: the member has sa_user (granted by Acme's admin); another partner's user and an outsider
    hold roles there too. Globex: the partner admin has va_viewer on Finance. Initech: only the other
    partner's user. The partner's holding account is never a customer."""
    acme = SmartAccountFactory(name="Acme", domain="acme.example")
    acme_admin = UserFactory(email="admin@acme.example")
    SmartAccountRoleFactory(user=acme_admin, content_object=acme, role=Role.SA_ADMIN)
    SmartAccountRoleFactory(user=partner_member, content_object=acme, role=Role.SA_USER, granted_by=acme_admin)
    rival = PartnerMembershipFactory(partner=other_partner, user=UserFactory(email="sam@rival.example")).user
    SmartAccountRoleFactory(user=rival, content_object=acme, role=Role.SA_VIEWER)
    SmartAccountRoleFactory(user=user, content_object=acme, role=Role.SA_VIEWER)
    globex = SmartAccountFactory(name="Globex", domain="globex.example")
    finance = VirtualAccountFactory(parent=globex.default_virtual_account, name="Finance")
    VirtualAccountRoleFactory(user=partner_admin, content_object=finance, role=Role.VA_VIEWER)
    initech = SmartAccountFactory(name="Initech", domain="initech.example")
    SmartAccountRoleFactory(user=rival, content_object=initech, role=Role.SA_ADMIN)
    HoldingAccountFactory(partner=partner)
    return acme, globex, finance


def test_members_see_the_customer_accounts_where_the_partners_users_hold_roles(
    partner_member_api, partner, partner_member, world,
):
    acme, globex, finance = world

    body = partner_member_api.get(customers_url(partner)).json()

    assert body["count"] == 2
    acme_row, globex_row = body["results"]
    assert acme_row == {
        "id": acme_row["id"], "smart_account": {"id": acme.pk, "name": "Acme", "domain": "acme.example"},
        "user_email": partner_member.email, "role": "sa_user", "role_label": acme_row["role_label"],
        "virtual_account": None, "scope": "Whole account", "granted_by": "admin@acme.example",
        "granted_at": acme_row["granted_at"], "can_open": True,
    }
    assert (globex_row["smart_account"]["name"], globex_row["user_email"], globex_row["role"]) == (
        "Globex", "admin@acme-resellers.example", "va_viewer",
    )
    assert globex_row["virtual_account"] == {"id": finance.pk, "name": "Finance"}
    assert (globex_row["granted_by"], globex_row["can_open"]) == (None, False)  # the member has no role in Globex


def test_the_api_lists_the_same_roles_as_the_partner_page(partner_member_api, partner, world):
    from accounts.selectors import partner_customer_roles

    rows = partner_member_api.get(customers_url(partner)).json()["results"]
    assert [r["id"] for r in rows] == [str(r.id) for r in partner_customer_roles(partner=partner)]


def test_staff_see_any_partners_customers(staff_api, partner, world):
    assert staff_api.get(customers_url(partner)).json()["count"] == 2


def test_another_partners_customers_are_404(partner_member_api, user_api, other_partner, partner, world):
    assert partner_member_api.get(customers_url(other_partner)).status_code == 404
    assert user_api.get(customers_url(partner)).status_code == 404


def test_customers_need_a_signed_in_user(anon, partner):
    assert anon.get(customers_url(partner)).status_code == 401


@pytest.mark.parametrize("roles", [2, 20])
def test_customers_list_runs_constant_queries_at_2_and_20_roles(partner_member_api, partner, roles,
                                                                django_assert_num_queries):
    for n in range(roles):
        member = PartnerMembershipFactory(partner=partner).user
        if n % 2:
            SmartAccountRoleFactory(user=member, role=Role.SA_USER, granted_by=UserFactory())
        else:
            VirtualAccountRoleFactory(user=member, role=Role.VA_USER)
    # API key lookup (with its user), its last-use update, the partner, the SA roles, the VA roles,
    # which of the accounts the caller may open.
    with django_assert_num_queries(6):
        assert partner_member_api.get(customers_url(partner)).json()["count"] == roles
