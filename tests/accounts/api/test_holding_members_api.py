"""Holding-account members (flow 4): a partner's users join its holding accounts (a partner admin
may add them), choose whether they are emailed about its orders, and its members list them."""
from __future__ import annotations

import pytest

from accounts.models import HoldingMembership

from tests.factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock(partner):
    return HoldingAccountFactory(partner=partner, name="Stock")


def members_url(sa) -> str:
    return f"/api/v1/smart-accounts/{sa.pk}/holding-members/"


def test_a_partner_user_joins_a_holding_account_of_their_partner(partner_member_api, partner_member, stock):
    response = partner_member_api.post(members_url(stock), {"notify": False}, format="json")
    assert response.status_code == 201
    membership = HoldingMembership.objects.get(smart_account=stock)
    assert (membership.user, membership.notify) == (partner_member, False)
    assert response.json() == {"id": membership.pk, "user": partner_member.pk, "email": partner_member.email,
                               "name": partner_member.name, "notify": False,
                               "created_at": response.json()["created_at"]}


def test_a_member_changes_whether_they_are_emailed(partner_member_api, partner_member, stock):
    HoldingMembershipFactory(smart_account=stock, user=partner_member, notify=True)
    response = partner_member_api.post(members_url(stock), {"email": partner_member.email, "notify": False},
                                       format="json")
    assert response.status_code == 201
    assert not HoldingMembership.objects.get(smart_account=stock, user=partner_member).notify


def test_a_partner_admin_adds_a_colleague(partner_admin_api, partner_member, stock):
    response = partner_admin_api.post(members_url(stock), {"email": partner_member.email}, format="json")
    assert response.status_code == 201
    assert HoldingMembership.objects.get(smart_account=stock).user == partner_member


def test_a_partner_member_cannot_add_a_colleague(partner_member_api, partner, stock):
    colleague = PartnerMembershipFactory(partner=partner).user
    assert partner_member_api.post(members_url(stock), {"email": colleague.email}, format="json").status_code == 403
    assert not HoldingMembership.objects.exists()


@pytest.mark.parametrize("email", ["outsider@example.com", "ghost@nowhere.example", "not-an-email"])
def test_only_the_partners_own_users_can_be_members(partner_admin_api, stock, email):
    UserFactory(email="outsider@example.com")
    response = partner_admin_api.post(members_url(stock), {"email": email}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert not HoldingMembership.objects.exists()


def test_members_and_partner_admins_list_the_members(api_as, partner_admin_api, partner_member, stock):
    HoldingMembershipFactory(smart_account=stock, user=partner_member)
    for client in (partner_admin_api, api_as(partner_member, key=True)):
        body = client.get(members_url(stock)).json()
        assert [m["email"] for m in body["results"]] == [partner_member.email]


def test_a_partner_user_who_has_not_joined_cannot_list_the_members(partner_member_api, stock):
    assert partner_member_api.get(members_url(stock)).status_code == 403


def test_another_partners_users_get_404(api_as, other_partner, stock):
    stranger = PartnerMembershipFactory(partner=other_partner, is_admin=True).user
    client = api_as(stranger, key=True)
    assert client.get(members_url(stock)).status_code == 404
    assert client.post(members_url(stock), {}, format="json").status_code == 404
    assert not HoldingMembership.objects.exists()


def test_a_customer_account_has_no_holding_members(partner_admin_api):
    assert partner_admin_api.get(members_url(SmartAccountFactory())).status_code == 404


def test_anonymous_gets_401(anon, stock):
    assert anon.get(members_url(stock)).status_code == 401
    assert anon.post(members_url(stock), {}, format="json").status_code == 401


@pytest.mark.parametrize("members", [2, 30])
def test_member_list_takes_the_same_queries_for_few_and_many(partner_admin_api, partner, stock, members,
                                                             django_assert_num_queries):
    for membership in PartnerMembershipFactory.create_batch(members, partner=partner):
        HoldingMembershipFactory(smart_account=stock, user=membership.user)
    # API key (with its user), its last-use update, the holding account, the HOLD check, the count,
    # the page with users.
    with django_assert_num_queries(6):
        assert partner_admin_api.get(members_url(stock)).json()["count"] == members
