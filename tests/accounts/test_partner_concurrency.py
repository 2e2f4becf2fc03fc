"""Partner membership at the same moment, on a real PostgreSQL (SQLite serialises every write):
an invitation joins its invitee once however often it is accepted at once, a user joins one
partner whichever invitations they accept at once, and two partner admins closing their user
accounts at once leave the partner an admin."""
from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Invitation, Notification, PartnerMembership, User
from tests.factories import PartnerFactory, PartnerMembershipFactory, UserFactory

from ..concurrency import run_at_once, run_many
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def emailed_token(email: str) -> str:
    row = Notification.objects.filter(kind="partner.invitation", recipient=email).latest("pk")
    return re.search(r"/invite/(?P<token>[^/\s]+)/", row.body_text).group("token")


def accept(token: str, user_id: int):
    def job():
        return services.partner_invitation_accept(token=token, actor=User.objects.get(pk=user_id))
    return job


def test_eight_accepts_of_one_invitation_at_once_make_one_membership(partner, partner_admin):
    nina = UserFactory(email="nina@example.org")
    services.partner_member_invite(partner=partner, email=nina.email, is_admin=False, actor=partner_admin)

    outcomes = run_many(accept(emailed_token(nina.email), nina.pk), 8)

    joined = [o for o in outcomes if isinstance(o, PartnerMembership)]
    refused = [o for o in outcomes if not isinstance(o, PartnerMembership)]
    assert len(joined) == 1 and all(isinstance(o, ValidationError) for o in refused), outcomes
    assert PartnerMembership.objects.filter(user=nina).count() == 1
    assert Invitation.objects.filter(used_at__isnull=False).count() == 1


def test_accepting_two_partners_invitations_at_once_joins_one_partner(partner, partner_admin):
    nina = UserFactory(email="nina@example.org")
    southwind = PartnerFactory(name="Southwind Systems")
    southwind_admin = PartnerMembershipFactory(partner=southwind, is_admin=True).user
    services.partner_member_invite(partner=partner, email=nina.email, is_admin=False, actor=partner_admin)
    northwind_token = emailed_token(nina.email)
    services.partner_member_invite(partner=southwind, email=nina.email, is_admin=False, actor=southwind_admin)
    southwind_token = emailed_token(nina.email)

    outcomes = run_at_once(accept(northwind_token, nina.pk), accept(southwind_token, nina.pk))

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ValidationError), outcomes
    assert "You already belong to" in str(refused[0])
    assert PartnerMembership.objects.filter(user=nina).count() == 1
    assert Invitation.objects.filter(used_at__isnull=False).count() == 1  # the other stays open


def test_two_partner_admins_closing_their_users_at_once_leave_one_admin(partner, partner_admin):
    second = PartnerMembershipFactory(partner=partner, user=UserFactory(email="second@northwind.example"),
                                      is_admin=True).user

    def close(user_id):
        def job():
            user = User.objects.get(pk=user_id)
            return services.user_close(user=user, actor=user, confirm_email=user.email)
        return job

    outcomes = run_at_once(close(partner_admin.pk), close(second.pk))

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ValidationError), outcomes
    assert "only admin of partner Northwind Networks" in str(refused[0])
    assert PartnerMembership.objects.filter(partner=partner, is_admin=True).count() == 1
    assert User.objects.filter(is_active=True, pk__in=[partner_admin.pk, second.pk]).count() == 1
