"""The small back-office and partner predicates of `accounts.permissions` (DESIGN.md §3):
one answer per kind of user."""
import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from tests.factories import (
    PartnerFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

STAFF_ONLY = (
    permissions.is_staff,
    permissions.can_ship_orders,
    permissions.can_manage_catalogue,
    permissions.can_change_account_status,
)


@pytest.mark.parametrize("predicate", STAFF_ONLY, ids=lambda p: p.__name__)
def test_staff_only_predicates(predicate):
    assert predicate(UserFactory(is_staff=True, powers="all")) is True
    assert predicate(UserFactory()) is False
    assert predicate(UserFactory(is_staff=True, is_active=False)) is False
    assert predicate(AnonymousUser()) is False
    assert predicate(None) is False


def test_can_activate_is_the_named_contact_or_staff():
    contact = UserFactory()
    sa = SmartAccountFactory(new=True, contact=contact)

    assert permissions.can_activate(contact, sa) is True
    assert permissions.can_activate(UserFactory(is_staff=True, powers="all"), sa) is True
    assert permissions.can_activate(UserFactory(), sa) is False
    assert permissions.can_activate(AnonymousUser(), sa) is False
    assert permissions.can_activate(UserFactory(), SmartAccountFactory(new=True, contact=None)) is False


def test_is_partner_user_is_having_a_partner_membership():
    member = PartnerMembershipFactory().user

    assert permissions.is_partner_user(member) is True
    assert permissions.is_partner_user(UserFactory()) is False
    assert permissions.is_partner_user(UserFactory(is_staff=True)) is False
    assert permissions.is_partner_user(AnonymousUser()) is False


def test_can_manage_partner_is_its_admins_and_staff():
    partner = PartnerFactory()
    admin = PartnerMembershipFactory(partner=partner, is_admin=True).user
    member = PartnerMembershipFactory(partner=partner).user
    other_admin = PartnerMembershipFactory(is_admin=True).user

    assert permissions.can_manage_partner(admin, partner) is True
    assert permissions.can_manage_partner(UserFactory(is_staff=True, powers="all"), partner) is True
    assert permissions.can_manage_partner(member, partner) is False
    assert permissions.can_manage_partner(other_admin, partner) is False
    assert permissions.can_manage_partner(AnonymousUser(), partner) is False


def test_can_set_support_case_status_is_staff_or_the_owner_resolving():
    from accounts.models import SupportCase, SupportCaseStatus

    owner = UserFactory()
    case = SupportCase(user=owner, subject="Help")
    staff = UserFactory(is_staff=True, powers="all")

    assert permissions.can_set_support_case_status(staff, case, SupportCaseStatus.OPEN) is True
    assert permissions.can_set_support_case_status(owner, case, SupportCaseStatus.RESOLVED) is True
    assert permissions.can_set_support_case_status(owner, case, SupportCaseStatus.OPEN) is False
    assert permissions.can_set_support_case_status(UserFactory(), case, SupportCaseStatus.RESOLVED) is False
    assert permissions.can_set_support_case_status(AnonymousUser(), case, SupportCaseStatus.RESOLVED) is False


def test_sees_order_partner_is_staff_or_a_distributor():
    from accounts.models import PartnerKind

    distributor = PartnerFactory(kind=PartnerKind.DISTRIBUTOR)
    reseller = PartnerFactory(kind=PartnerKind.RESELLER)

    assert permissions.sees_order_partner(UserFactory(is_staff=True), None) is True
    assert permissions.sees_order_partner(UserFactory(), distributor) is True
    assert permissions.sees_order_partner(UserFactory(), reseller) is False
    assert permissions.sees_order_partner(UserFactory(), None) is False
