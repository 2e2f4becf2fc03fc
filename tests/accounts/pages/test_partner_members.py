"""/partner/: the partner organisation and its members; partner admins manage them."""
import re

import pytest
from django.urls import reverse

from accounts.models import HoldingMembership, Invitation, InvitationPurpose, Notification, PartnerMembership
from tests.factories import HoldingMembershipFactory, PartnerFactory, UserFactory

from .conftest import field_error, html

pytestmark = pytest.mark.django_db


def test_partner_page_shows_organisation_kind_and_members(as_user, partner_admin, partner_member):
    page = html(as_user(partner_member).get(reverse("accounts:partner_detail")))

    assert "Northwind Networks" in page and "Reseller" in page
    assert "boss@northwind.example" in page and "pat@northwind.example" in page


def test_distributor_sees_its_linked_resellers_and_reseller_its_distributor(as_user, db):
    distributor = PartnerFactory(name="Big Distribution", distributor=True)
    reseller = PartnerFactory(name="Small Reseller")
    distributor.linked_resellers.add(reseller)
    boss = UserFactory(email="boss@big.example")
    distributor.memberships.create(user=boss, is_admin=True)
    seller = UserFactory(email="seller@small.example")
    reseller.memberships.create(user=seller)

    assert "Small Reseller" in html(as_user(boss).get(reverse("accounts:partner_detail")))
    assert "Big Distribution" in html(as_user(seller).get(reverse("accounts:partner_detail")))


def test_user_without_partner_gets_an_explaining_empty_state(as_user, user):
    response = as_user(user).get(reverse("accounts:partner_detail"))

    assert response.status_code == 200
    assert "You are not a member of a partner organisation" in html(response)
    assert "ask your partner admin to invite you" in html(response)


def invite(client, email: str, **extra):
    return client.post(reverse("accounts:partner_member_invite"), {"email": email, **extra}, follow=True)


def emailed_link(email: str) -> str:
    """The path of the newest invitation link emailed to `email` (from the outbox row)."""
    row = Notification.objects.filter(kind="partner.invitation", recipient=email).latest("pk")
    return re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", row.body_text).group(1)


def test_a_partner_admin_cannot_add_a_user_without_their_consent(as_user, partner, partner_admin):
    newcomer = UserFactory(email="new@northwind.example")

    response = invite(as_user(partner_admin), "New@Northwind.example")

    assert not PartnerMembership.objects.filter(user=newcomer).exists()
    assert "We emailed an invitation to new@northwind.example" in html(response)
    invitation = Invitation.objects.get(purpose=InvitationPurpose.JOIN_PARTNER)
    assert (invitation.email, invitation.partner, invitation.partner_admin) == ("new@northwind.example", partner, False)


def test_pending_invitations_are_listed_with_email_role_and_expiry(as_user, partner_admin):
    invite(as_user(partner_admin), "second@northwind.example", is_admin="on")
    invitation = Invitation.objects.get()

    page = html(as_user(partner_admin).get(reverse("accounts:partner_detail")))

    assert "Pending invitations" in page and "second@northwind.example" in page and "Partner admin" in page
    assert f"{invitation.expires_at:%Y-%m-%d}" in page
    assert reverse("accounts:partner_invitation_revoke", args=[invitation.pk]) in page


def test_inviting_says_the_same_whoever_the_address_belongs_to(as_user, partner_admin, other_partner_member):
    UserFactory(email="registered@example.org", name="Reggie Registered")
    client = as_user(partner_admin)

    pages = {email: html(invite(client, email)) for email in
             ("stranger@example.org", "registered@example.org", other_partner_member.email)}

    for email, page in pages.items():
        assert f"We emailed an invitation to {email}" in page
        assert "Southwind" not in page and "Reggie" not in page and "already" not in page
    assert other_partner_member.partner_membership.partner.name == "Southwind Systems"


def test_partner_sees_nothing_of_an_invited_user_before_acceptance(as_user, partner_admin):
    invitee = UserFactory(email="nina@example.org", name="Nina Newcomer")
    client = as_user(partner_admin)
    invite(client, invitee.email)

    members = html(client.get(reverse("accounts:partner_detail")))
    customers = html(client.get(reverse("accounts:partner_customer_list")))

    assert "Nina Newcomer" not in members and "Nina Newcomer" not in customers
    assert "nina@example.org" not in customers
    assert ">1 (1 admin)<" in members  # the invitee is not counted among the members


def test_inviting_a_bad_address_shows_the_error_next_to_the_field(as_user, partner_admin):
    response = as_user(partner_admin).post(reverse("accounts:partner_member_invite"), {"email": "not an email"})

    assert response.status_code == 200
    assert "Enter a valid email address." in field_error(response, "id_email")
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_again_does_not_change_their_admin_flag(as_user, partner_admin):
    response = as_user(partner_admin).post(reverse("accounts:partner_member_invite"), {"email": partner_admin.email})

    assert "already a member of Northwind Networks" in field_error(response, "id_email")
    assert PartnerMembership.objects.get(user=partner_admin).is_admin is True
    assert not Invitation.objects.exists()


def test_partner_admin_revokes_a_pending_invitation(as_user, partner_admin):
    client = as_user(partner_admin)
    invite(client, "nina@example.org")
    link = emailed_link("nina@example.org")
    invitation = Invitation.objects.get()

    response = client.post(reverse("accounts:partner_invitation_revoke", args=[invitation.pk]), follow=True)

    assert "The invitation of nina@example.org was withdrawn." in html(response)
    assert "Pending invitations" not in html(response)
    client.force_login(UserFactory(email="nina@example.org"))
    assert client.get(link, follow=True).status_code == 410


def test_invitee_sees_partner_and_role_offered_and_accepts(client, as_user, partner, partner_admin):
    invite(as_user(partner_admin), "nina@example.org", is_admin="on")
    nina = UserFactory(email="nina@example.org")
    client.force_login(nina)

    landing = client.get(emailed_link(nina.email))
    page_url = landing["Location"]
    page = html(client.get(page_url))
    assert page_url.startswith("/partner/join/")
    assert "Join Northwind Networks" in page and "as a partner admin" in page and "boss@northwind.example" in page

    response = client.post(page_url, {"decision": "accept"}, follow=True)

    assert PartnerMembership.objects.get(user=nina).partner == partner
    assert PartnerMembership.objects.get(user=nina).is_admin is True
    assert "You joined Northwind Networks as a partner admin." in html(response)
    assert client.post(page_url, {"decision": "accept"}).status_code == 410  # single use


def test_invitee_declines_and_joins_nothing(client, as_user, partner_admin):
    invite(as_user(partner_admin), "nina@example.org")
    nina = UserFactory(email="nina@example.org")
    client.force_login(nina)
    page_url = client.get(emailed_link(nina.email))["Location"]

    response = client.post(page_url, {"decision": "decline"}, follow=True)

    assert "You declined the invitation to join Northwind Networks." in html(response)
    assert not PartnerMembership.objects.filter(user=nina).exists()
    assert client.get(page_url).status_code == 410


def test_the_invitation_page_needs_sign_in_and_is_for_the_invited_address_only(client, as_user, partner_admin):
    invite(as_user(partner_admin), "nina@example.org")
    page_url = emailed_link("nina@example.org").replace("/invite/", "/partner/join/")
    client.logout()

    assert reverse("account_login") in client.get(page_url)["Location"]
    client.force_login(UserFactory(email="eve@example.org"))
    response = client.post(page_url, {"decision": "accept"})
    assert response.status_code == 403
    assert not PartnerMembership.objects.filter(user__email="eve@example.org").exists()


def test_a_member_of_another_partner_is_told_to_leave_it_first(client, as_user, partner_admin, other_partner_member):
    invite(as_user(partner_admin), other_partner_member.email)
    client.force_login(other_partner_member)
    page_url = client.get(emailed_link(other_partner_member.email))["Location"]

    response = client.post(page_url, {"decision": "accept"})

    assert response.status_code == 200
    assert "You already belong to Southwind Systems" in html(response)
    assert other_partner_member.partner_membership.partner.name == "Southwind Systems"


def test_partner_admin_removes_a_member_and_their_holding_memberships(as_user, partner_admin, partner_member, holding):
    HoldingMembershipFactory(smart_account=holding, user=partner_member)
    membership = partner_member.partner_membership

    response = as_user(partner_admin).post(reverse("accounts:partner_member_remove", args=[membership.pk]), follow=True)

    assert not PartnerMembership.objects.filter(user=partner_member).exists()
    assert not HoldingMembership.objects.filter(user=partner_member).exists()
    assert "pat@northwind.example no longer belongs to Northwind Networks" in html(response)


def test_partner_admin_toggles_admin_flag(as_user, partner_admin, partner_member):
    client = as_user(partner_admin)
    url = reverse("accounts:partner_member_set_admin", args=[partner_member.partner_membership.pk])

    client.post(url, {"is_admin": "1"})
    assert PartnerMembership.objects.get(user=partner_member).is_admin is True

    response = client.post(url, {"is_admin": "0"}, follow=True)
    assert PartnerMembership.objects.get(user=partner_member).is_admin is False
    assert "pat@northwind.example is no longer a partner admin." in html(response)


def test_the_last_partner_admin_cannot_step_down(as_user, partner_admin):
    url = reverse("accounts:partner_member_set_admin", args=[partner_admin.partner_membership.pk])

    response = as_user(partner_admin).post(url, {"is_admin": "0"}, follow=True)

    assert PartnerMembership.objects.get(user=partner_admin).is_admin is True
    assert "A partner keeps at least one admin" in html(response)


def test_the_last_partner_admin_cannot_leave(as_user, partner_admin):
    url = reverse("accounts:partner_member_remove", args=[partner_admin.partner_membership.pk])

    response = as_user(partner_admin).post(url, follow=True)

    assert PartnerMembership.objects.filter(user=partner_admin).exists()
    assert "A partner keeps at least one admin." in html(response)


def test_non_admin_member_cannot_add_remove_or_promote_members(as_user, partner_admin, partner_member):
    UserFactory(email="new@northwind.example")
    client = as_user(partner_member)
    admin_membership = partner_admin.partner_membership

    assert client.post(reverse("accounts:partner_member_invite"), {"email": "new@northwind.example"}).status_code == 403
    assert not Invitation.objects.exists()
    assert client.post(reverse("accounts:partner_member_remove", args=[admin_membership.pk])).status_code == 403
    own = partner_member.partner_membership.pk
    assert client.post(reverse("accounts:partner_member_set_admin", args=[own]), {"is_admin": "1"}).status_code == 403
    assert PartnerMembership.objects.filter(partner=admin_membership.partner).count() == 2
    assert PartnerMembership.objects.get(user=partner_member).is_admin is False


def test_non_admin_member_sees_no_member_management_controls(as_user, partner_admin, partner_member):
    page = html(as_user(partner_member).get(reverse("accounts:partner_detail")))

    assert "Invite a member" not in page
    assert reverse("accounts:partner_member_remove", args=[partner_admin.partner_membership.pk]) not in page


def test_members_of_another_partner_are_404_and_never_listed(as_user, partner_admin, other_partner_member):
    client = as_user(partner_admin)
    theirs = other_partner_member.partner_membership.pk

    assert "sam@southwind.example" not in html(client.get(reverse("accounts:partner_detail")))
    assert client.post(reverse("accounts:partner_member_remove", args=[theirs])).status_code == 404
    assert client.post(reverse("accounts:partner_member_set_admin", args=[theirs]), {"is_admin": "1"}).status_code == 404
    assert PartnerMembership.objects.filter(user=other_partner_member).exists()


def test_partner_pages_need_sign_in(client):
    response = client.get(reverse("accounts:partner_detail"))

    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_member_actions_are_post_only(as_user, partner_admin):
    assert as_user(partner_admin).get(reverse("accounts:partner_member_invite")).status_code == 405


def test_staff_without_partner_are_pointed_to_the_admin(as_user, staff_user):
    page = html(as_user(staff_user).get(reverse("accounts:partner_detail")))

    assert "Vendor staff manage partner organisations" in page
    assert f'href="{reverse("admin:index")}"' in page
