"""The two rules accounts.permissions adds to the role table: acting on accounts needs a verified
email (DESIGN.md §2; staff are exempt), and what belongs to an account as a whole (classic
licenses, alert settings) is for account-wide roles only."""
from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied

from accounts import permissions
from accounts.models import Role, SmartAccount, User, VirtualAccount
from accounts.permissions import ADMINISTER, HOLD, OPERATE, STRUCTURE, VIEW
from licensing.models import AlertPreferences, ClassicLicense
from tests.factories import (
    ClassicLicenseFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerMembershipFactory,
    UserFactory,
)

from .conftest import give_role

pytestmark = pytest.mark.django_db

ACTING = (OPERATE, STRUCTURE, ADMINISTER)


def unverified(role: str, target) -> User:
    user = UserFactory(unverified=True)
    give_role(user, role, target)
    return User.objects.get(pk=user.pk)  # a fresh object: nothing known about its email yet


def test_acting_on_accounts_needs_a_verified_email(acme):
    admin = unverified(Role.SA_ADMIN, acme.sa)
    va_admin = unverified(Role.VA_ADMIN, acme.finance)

    for user, where in ((admin, acme.sa), (va_admin, acme.finance)):
        assert permissions.can(user, VIEW, where) and permissions.visible(user, VirtualAccount).exists()
        for capability in ACTING:
            assert not permissions.can(user, capability, where), capability
            assert not permissions.visible(user, VirtualAccount, capability).exists(), capability
            assert not permissions.visible(user, SmartAccount, capability).exists(), capability
    rights = permissions.TreeRights(admin, acme.sa)
    assert rights.whole_account(VIEW) and not rights.whole_account(OPERATE) and rights.subtrees(ADMINISTER) == []
    assert not permissions.can_restructure(admin, acme.sacramento)
    assert not permissions.sees_whole_account(admin, acme.sa, OPERATE)

    with pytest.raises(PermissionDenied, match="Verify your email address before acting on accounts."):
        permissions.require(admin, OPERATE, acme.finance)
    with pytest.raises(PermissionDenied, match="Verify your email address"):
        permissions.require_verified(admin)
    permissions.require_verified(None)  # the system acts without a user


def test_holding_partner_and_activation_rights_need_a_verified_email(acme, partner):
    holding = HoldingAccountFactory(partner=partner)
    member = UserFactory(unverified=True)
    PartnerMembershipFactory(partner=partner, user=member, is_admin=True)
    HoldingMembershipFactory(smart_account=holding, user=member)
    acme.sa.contact = member
    acme.sa.save()
    member = User.objects.get(pk=member.pk)

    assert permissions.can(member, VIEW, holding)
    assert not permissions.can(member, HOLD, holding)
    assert not permissions.can_manage_partner(member, partner)
    assert not permissions.can_activate(member, acme.sa)
    EmailAddress.objects.filter(user=member).update(verified=True)
    member = User.objects.get(pk=member.pk)
    assert permissions.can(member, HOLD, holding) and permissions.can_manage_partner(member, partner)
    assert permissions.can_activate(member, acme.sa)


def test_staff_act_without_a_verified_email_address(acme):
    staff = UserFactory(is_staff=True)
    EmailAddress.objects.filter(user=staff).delete()  # as `createsuperuser` leaves them

    assert all(permissions.can(staff, capability, acme.finance) for capability in ACTING)
    permissions.require_verified(staff)


def test_the_email_check_costs_no_query_of_its_own(acme, django_assert_num_queries):
    user = User.objects.get(pk=UserFactory().pk)
    give_role(user, Role.VA_USER, acme.finance)

    with django_assert_num_queries(1):  # the right and the email, in one query
        assert permissions.can(user, OPERATE, acme.sacramento)
    with django_assert_num_queries(1):  # asked once per user object, then known
        assert permissions.is_verified(user)
    with django_assert_num_queries(0):
        assert permissions.is_verified(user)
        permissions.require_verified(user)


def test_classic_licenses_and_alert_settings_are_for_account_wide_roles(acme):
    pak = ClassicLicenseFactory(smart_account=acme.sa)
    settings = AlertPreferences.objects.create(smart_account=acme.sa)
    sa_viewer, va_admin = UserFactory(), UserFactory()
    give_role(sa_viewer, Role.SA_VIEWER, acme.sa)
    give_role(va_admin, Role.VA_ADMIN, acme.finance)

    assert list(permissions.visible(sa_viewer, ClassicLicense)) == [pak]
    assert list(permissions.visible(sa_viewer, AlertPreferences)) == [settings]
    assert permissions.can(sa_viewer, VIEW, pak) and not permissions.can(sa_viewer, OPERATE, pak)
    assert permissions.sees_account_wide_data(sa_viewer, acme.sa)

    assert permissions.can(va_admin, VIEW, acme.sa)  # the account, yes
    assert not permissions.visible(va_admin, ClassicLicense).exists()
    assert not permissions.visible(va_admin, AlertPreferences).exists()
    assert not any(permissions.can(va_admin, c, pak) for c in (VIEW, OPERATE, ADMINISTER))
    assert not permissions.sees_account_wide_data(va_admin, acme.sa)
    with pytest.raises(PermissionDenied):
        permissions.get_account_wide_or_404(va_admin, SmartAccount.objects.all(), pk=acme.sa.pk)
