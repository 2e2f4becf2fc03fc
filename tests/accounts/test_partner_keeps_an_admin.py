"""A partner keeps at least one admin, whichever way an admin goes: removed, demoted, or
closing their own user account (DESIGN §12 flow "close my account")."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import PartnerMembership, User
from tests.factories import PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_closing_the_last_partner_admin_is_refused(partner, partner_admin, partner_user):
    with pytest.raises(ValidationError) as caught:
        services.user_close(user=partner_admin, actor=partner_admin, confirm_email=partner_admin.email)

    assert caught.value.message_dict == {"confirm_email": [
        "You are the only admin of partner Northwind Networks. Make another member partner admin first."
    ]}
    assert User.objects.get(pk=partner_admin.pk).is_active
    assert PartnerMembership.objects.get(user=partner_admin).is_admin


def test_staff_closing_the_last_partner_admin_is_refused_too(partner, partner_admin, staff_user):
    with pytest.raises(ValidationError, match="only admin of partner Northwind Networks"):
        services.user_close(user=partner_admin, actor=staff_user)

    assert User.objects.get(pk=partner_admin.pk).closed_at is None


def test_one_of_two_partner_admins_may_close_their_account(partner, partner_admin):
    second = PartnerMembershipFactory(partner=partner, user=UserFactory(email="second@northwind.example"),
                                      is_admin=True)

    services.user_close(user=partner_admin, actor=partner_admin, confirm_email=partner_admin.email)

    assert list(PartnerMembership.objects.filter(partner=partner).values_list("pk", flat=True)) == [second.pk]


def test_a_plain_member_may_close_their_account(partner, partner_admin, partner_user):
    services.user_close(user=partner_user, actor=partner_user, confirm_email=partner_user.email)

    assert not PartnerMembership.objects.filter(user_id=partner_user.pk).exists()
