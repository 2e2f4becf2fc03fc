"""/partner/: the partner organisation and its members; partner admins manage them."""
import pytest
from django.urls import reverse

from accounts.models import HoldingMembership, PartnerMembership
from tests.factories import HoldingMembershipFactory, PartnerFactory, UserFactory

from .conftest import field_error, html

pytestmark = pytest.mark.django_db


def test_partner_page_shows_organisation_kind_and_members(as_user, partner_admin, partner_member):
    page = html(as_user(partner_member).get(reverse("partner:partner_detail")))

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

    assert "Small Reseller" in html(as_user(boss).get(reverse("partner:partner_detail")))
    assert "Big Distribution" in html(as_user(seller).get(reverse("partner:partner_detail")))


def test_user_without_partner_gets_an_explaining_empty_state(as_user, user):
    response = as_user(user).get(reverse("partner:partner_detail"))

    assert response.status_code == 200
    assert "You are not a member of a partner organisation" in html(response)
    assert "ask your partner admin to add you" in html(response)


def test_partner_admin_adds_a_member_by_email(as_user, partner, partner_admin):
    newcomer = UserFactory(email="new@northwind.example")

    response = as_user(partner_admin).post(reverse("partner:partner_member_add"), {"email": "New@Northwind.example"}, follow=True)

    membership = PartnerMembership.objects.get(user=newcomer)
    assert membership.partner == partner and membership.is_admin is False
    assert "new@northwind.example is now a member of Northwind Networks." in html(response)


def test_partner_admin_adds_another_admin(as_user, partner_admin):
    newcomer = UserFactory(email="second@northwind.example")

    as_user(partner_admin).post(reverse("partner:partner_member_add"), {"email": newcomer.email, "is_admin": "on"})

    assert PartnerMembership.objects.get(user=newcomer).is_admin is True


def test_adding_an_unregistered_email_shows_the_error_next_to_the_field(as_user, partner_admin):
    response = as_user(partner_admin).post(reverse("partner:partner_member_add"), {"email": "ghost@northwind.example"})

    assert response.status_code == 200
    assert "No registered user has the email address ghost@northwind.example." in field_error(response, "id_email")


def test_adding_a_member_of_another_partner_is_refused_next_to_the_field(as_user, partner_admin, other_partner_member):
    response = as_user(partner_admin).post(reverse("partner:partner_member_add"), {"email": other_partner_member.email})

    assert "already belongs to partner Southwind Systems" in field_error(response, "id_email")
    assert other_partner_member.partner_membership.partner.name == "Southwind Systems"


def test_adding_an_existing_member_again_does_not_change_their_admin_flag(as_user, partner_admin):
    response = as_user(partner_admin).post(reverse("partner:partner_member_add"), {"email": partner_admin.email})

    assert "already a member of Northwind Networks" in field_error(response, "id_email")
    assert PartnerMembership.objects.get(user=partner_admin).is_admin is True


def test_partner_admin_removes_a_member_and_their_holding_memberships(as_user, partner_admin, partner_member, holding):
    HoldingMembershipFactory(smart_account=holding, user=partner_member)
    membership = partner_member.partner_membership

    response = as_user(partner_admin).post(reverse("partner:partner_member_remove", args=[membership.pk]), follow=True)

    assert not PartnerMembership.objects.filter(user=partner_member).exists()
    assert not HoldingMembership.objects.filter(user=partner_member).exists()
    assert "pat@northwind.example no longer belongs to Northwind Networks" in html(response)


def test_partner_admin_toggles_admin_flag(as_user, partner_admin, partner_member):
    client = as_user(partner_admin)
    url = reverse("partner:partner_member_set_admin", args=[partner_member.partner_membership.pk])

    client.post(url, {"is_admin": "1"})
    assert PartnerMembership.objects.get(user=partner_member).is_admin is True

    response = client.post(url, {"is_admin": "0"}, follow=True)
    assert PartnerMembership.objects.get(user=partner_member).is_admin is False
    assert "pat@northwind.example is no longer a partner admin." in html(response)


def test_the_last_partner_admin_cannot_step_down(as_user, partner_admin):
    url = reverse("partner:partner_member_set_admin", args=[partner_admin.partner_membership.pk])

    response = as_user(partner_admin).post(url, {"is_admin": "0"}, follow=True)

    assert PartnerMembership.objects.get(user=partner_admin).is_admin is True
    assert "A partner keeps at least one admin" in html(response)


def test_the_last_partner_admin_cannot_leave(as_user, partner_admin):
    url = reverse("partner:partner_member_remove", args=[partner_admin.partner_membership.pk])

    response = as_user(partner_admin).post(url, follow=True)

    assert PartnerMembership.objects.filter(user=partner_admin).exists()
    assert "A partner keeps at least one admin." in html(response)


def test_non_admin_member_cannot_add_remove_or_promote_members(as_user, partner_admin, partner_member):
    UserFactory(email="new@northwind.example")
    client = as_user(partner_member)
    admin_membership = partner_admin.partner_membership

    assert client.post(reverse("partner:partner_member_add"), {"email": "new@northwind.example"}).status_code == 403
    assert client.post(reverse("partner:partner_member_remove", args=[admin_membership.pk])).status_code == 403
    own = partner_member.partner_membership.pk
    assert client.post(reverse("partner:partner_member_set_admin", args=[own]), {"is_admin": "1"}).status_code == 403
    assert PartnerMembership.objects.filter(partner=admin_membership.partner).count() == 2
    assert PartnerMembership.objects.get(user=partner_member).is_admin is False


def test_non_admin_member_sees_no_member_management_controls(as_user, partner_admin, partner_member):
    page = html(as_user(partner_member).get(reverse("partner:partner_detail")))

    assert "Add a member" not in page
    assert reverse("partner:partner_member_remove", args=[partner_admin.partner_membership.pk]) not in page


def test_members_of_another_partner_are_404_and_never_listed(as_user, partner_admin, other_partner_member):
    client = as_user(partner_admin)
    theirs = other_partner_member.partner_membership.pk

    assert "sam@southwind.example" not in html(client.get(reverse("partner:partner_detail")))
    assert client.post(reverse("partner:partner_member_remove", args=[theirs])).status_code == 404
    assert client.post(reverse("partner:partner_member_set_admin", args=[theirs]), {"is_admin": "1"}).status_code == 404
    assert PartnerMembership.objects.filter(user=other_partner_member).exists()


def test_partner_pages_need_sign_in(client):
    response = client.get(reverse("partner:partner_detail"))

    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_member_actions_are_post_only(as_user, partner_admin):
    assert as_user(partner_admin).get(reverse("partner:partner_member_add")).status_code == 405


def test_staff_without_partner_are_pointed_to_the_admin(as_user, staff_user):
    page = html(as_user(staff_user).get(reverse("partner:partner_detail")))

    assert "Vendor staff manage partner organisations" in page
    assert f'href="{reverse("admin:index")}"' in page
