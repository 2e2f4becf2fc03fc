"""Decisions the views and services used to make themselves, now in the permission modules:
which holding accounts a caller reaches by id (staff every one, anyone else their partner's and
the ones they are a member of), and who chooses a delegated line's account (its order's
end-customer contact)."""
import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from orders.permissions import is_delegated_contact
from tests.factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    OrderLineFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_staff_reach_every_holding_account_and_partner_users_their_partners():
    contoso, fabrikam = PartnerFactory(), PartnerFactory()
    own = HoldingAccountFactory(partner=contoso)
    other = HoldingAccountFactory(partner=fabrikam)
    member = PartnerMembershipFactory(partner=contoso).user
    staff = UserFactory(is_staff=True)  # seeing is not a power: no permission needed

    assert set(permissions.reachable_holding_accounts(staff)) == {own, other}
    assert set(permissions.reachable_holding_accounts(member)) == {own}
    assert set(permissions.reachable_holding_accounts(UserFactory())) == set()
    assert set(permissions.reachable_holding_accounts(AnonymousUser())) == set()


def test_a_member_of_a_holding_account_reaches_it_and_own_narrows_the_partners_part():
    contoso = PartnerFactory()
    own, joined = HoldingAccountFactory(partner=contoso), HoldingAccountFactory()
    member = PartnerMembershipFactory(partner=contoso).user
    HoldingMembershipFactory(smart_account=joined, user=member)

    assert set(permissions.reachable_holding_accounts(member)) == {own, joined}
    nothing = own.__class__.objects.none()
    assert set(permissions.reachable_holding_accounts(member, own=nothing)) == {joined}


def test_the_delegated_contact_is_the_orders_end_customer_whatever_the_case():
    line = OrderLineFactory(order__end_customer_email="IT@Initech.example", delegated=True)

    assert is_delegated_contact(UserFactory(email="it@initech.example"), line) is True
    assert is_delegated_contact(UserFactory(email="ops@initech.example"), line) is False
    assert is_delegated_contact(AnonymousUser(), line) is False
    assert is_delegated_contact(None, line) is False
