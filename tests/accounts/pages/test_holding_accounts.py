"""/partner/holding-accounts/: create, join, leave, and choose whether to get order emails."""
import pytest
from django.urls import reverse

from accounts.models import HoldingMembership, SmartAccount, SmartAccountKind
from tests.factories import HoldingAccountFactory, HoldingMembershipFactory

from .conftest import field_error, html

pytestmark = pytest.mark.django_db

LIST = "accounts:holding_account_list"


def join(client, holding, email, notify=True):
    data = {f"h{holding.pk}-email": email}
    if notify:
        data[f"h{holding.pk}-notify"] = "on"
    return client.post(reverse("accounts:holding_member_add", args=[holding.pk]), data, follow=True)


def test_no_holding_account_shows_what_to_do(as_user, partner_member):
    page = html(as_user(partner_member).get(reverse(LIST)))

    assert "No holding account yet" in page
    assert "Create your holding account" in page


def test_member_creates_a_holding_account_and_joins_it(as_user, partner, partner_member):
    response = as_user(partner_member).post(reverse("accounts:holding_account_create"), {"name": "Northwind stock"}, follow=True)

    sa = SmartAccount.objects.get(kind=SmartAccountKind.HOLDING, partner=partner)
    assert sa.name == "Northwind stock"
    assert HoldingMembership.objects.get(smart_account=sa).user == partner_member
    assert "Holding account Northwind stock created." in html(response)


def test_duplicate_holding_account_name_is_shown_next_to_the_field(as_user, partner_member, holding):
    response = as_user(partner_member).post(reverse("accounts:holding_account_create"), {"name": "northwind PARKING"})

    assert "already has a holding account named" in field_error(response, "id_name")


def test_several_holding_accounts_get_a_recommend_one_hint(as_user, partner, partner_member, holding):
    client = as_user(partner_member)
    assert "One is usually enough" not in html(client.get(reverse(LIST)))

    HoldingAccountFactory(name="Second shelf", partner=partner)

    assert "has 2 holding accounts. One is usually enough" in html(client.get(reverse(LIST)))


def test_member_joins_with_notifications(as_user, partner_member, holding):
    response = join(as_user(partner_member), holding, partner_member.email)

    membership = HoldingMembership.objects.get(smart_account=holding, user=partner_member)
    assert membership.notify is True
    assert "You joined Northwind parking. You get an email when orders arrive here." in html(response)


def test_member_joins_without_notifications(as_user, partner_member, holding):
    join(as_user(partner_member), holding, partner_member.email, notify=False)

    assert HoldingMembership.objects.get(smart_account=holding, user=partner_member).notify is False


def test_member_turns_notifications_off_and_on(as_user, partner_member, holding):
    membership = HoldingMembershipFactory(smart_account=holding, user=partner_member, notify=True)
    client = as_user(partner_member)
    url = reverse("accounts:holding_member_notify", args=[membership.pk])

    response = client.post(url, {}, follow=True)
    membership.refresh_from_db()
    assert membership.notify is False
    assert "You will no longer get emails about orders in Northwind parking." in html(response)

    response = client.post(url, {"notify": "on"}, follow=True)
    membership.refresh_from_db()
    assert membership.notify is True
    assert "You will get an email when orders arrive in Northwind parking." in html(response)


def test_member_leaves(as_user, partner_member, holding):
    membership = HoldingMembershipFactory(smart_account=holding, user=partner_member)

    response = as_user(partner_member).post(reverse("accounts:holding_member_remove", args=[membership.pk]), follow=True)

    assert not HoldingMembership.objects.filter(pk=membership.pk).exists()
    assert "You left Northwind parking." in html(response)


def test_holding_account_lists_its_members_and_their_email_choice(as_user, partner_admin, partner_member, holding):
    HoldingMembershipFactory(smart_account=holding, user=partner_member, notify=False)

    page = html(as_user(partner_admin).get(reverse(LIST)))

    assert "pat@northwind.example" in page
    assert "1 member" in page


def test_partner_admin_adds_and_removes_a_colleague(as_user, partner_admin, partner_member, holding):
    client = as_user(partner_admin)

    response = join(client, holding, partner_member.email, notify=False)
    membership = HoldingMembership.objects.get(smart_account=holding, user=partner_member)
    assert "pat@northwind.example is now a member of Northwind parking." in html(response)

    client.post(reverse("accounts:holding_member_remove", args=[membership.pk]))
    assert not HoldingMembership.objects.filter(pk=membership.pk).exists()


def test_non_admin_cannot_add_or_remove_a_colleague(as_user, partner_admin, partner_member, holding):
    admin_membership = HoldingMembershipFactory(smart_account=holding, user=partner_admin)
    client = as_user(partner_member)

    data = {f"h{holding.pk}-email": partner_admin.email}
    assert client.post(reverse("accounts:holding_member_add", args=[holding.pk]), data).status_code == 403
    assert client.post(reverse("accounts:holding_member_remove", args=[admin_membership.pk])).status_code == 403
    assert HoldingMembership.objects.filter(pk=admin_membership.pk).exists()


def test_adding_someone_outside_the_partner_shows_the_error_next_to_the_field(as_user, partner_admin, other_partner_member, holding):
    response = join(as_user(partner_admin), holding, other_partner_member.email)

    assert "is not a member of Northwind Networks" in field_error(response, f"id_h{holding.pk}-email")
    assert not HoldingMembership.objects.filter(user=other_partner_member).exists()


def test_another_partners_holding_accounts_are_invisible_and_404(as_user, partner_member, other_partner, other_partner_member):
    theirs = HoldingAccountFactory(name="Southwind shelf", partner=other_partner)
    their_membership = HoldingMembershipFactory(smart_account=theirs, user=other_partner_member)
    client = as_user(partner_member)

    assert "Southwind shelf" not in html(client.get(reverse(LIST)))
    assert join(client, theirs, partner_member.email).status_code == 404
    assert client.post(reverse("accounts:holding_member_remove", args=[their_membership.pk])).status_code == 404
    assert client.post(reverse("accounts:holding_member_notify", args=[their_membership.pk])).status_code == 404
    assert HoldingMembership.objects.filter(pk=their_membership.pk, notify=True).exists()
