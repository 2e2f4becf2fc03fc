"""Partner membership by invitation: a partner admin invites an email address, and the person
whose verified address it is joins by accepting the emailed link (or declines it). Nobody joins
a partner without consenting, and the partner learns nothing about them before they accept."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, InvitationPurpose, Notification, PartnerMembership, Role
from accounts.selectors import partner_customer_roles
from tests.factories import (
    PartnerFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitee(db):
    return UserFactory(email="nina@example.org", name="Nina Newcomer")


@pytest.fixture
def southwind_member(db):
    return PartnerMembershipFactory(partner=PartnerFactory(name="Southwind Systems"),
                                    user=UserFactory(email="sam@southwind.example")).user


def emailed_token(email: str) -> str:
    """The token of the newest invitation link emailed to `email` (from the outbox row)."""
    row = Notification.objects.filter(kind="partner.invitation", recipient=email).latest("pk")
    return re.search(r"/invite/(?P<token>[^/\s]+)/", row.body_text).group("token")


def invite(partner, actor, email: str, *, is_admin: bool = False) -> str:
    services.partner_member_invite(partner=partner, email=email, is_admin=is_admin, actor=actor)
    return emailed_token(email)


def test_a_partner_admin_cannot_add_a_user_without_their_consent(partner, partner_admin, invitee):
    with pytest.raises(PermissionDenied):
        services.partner_member_add(partner=partner, email=invitee.email, actor=partner_admin)

    services.partner_member_invite(partner=partner, email=invitee.email, is_admin=False, actor=partner_admin)

    assert not PartnerMembership.objects.filter(user=invitee).exists()


def test_an_invitation_emails_a_signed_link_to_the_address(partner, partner_admin):
    invitation = services.partner_member_invite(partner=partner, email=" Nina@Example.org ", is_admin=True,
                                                actor=partner_admin)

    assert (invitation.purpose, invitation.email, invitation.partner, invitation.partner_admin, invitation.invited_by) \
        == (InvitationPurpose.JOIN_PARTNER, "nina@example.org", partner, True, partner_admin)
    row = Notification.objects.get(kind="partner.invitation")
    assert row.recipient == "nina@example.org"
    assert "Northwind Networks" in row.subject and "partner admin" in row.body_text
    assert signing.loads(emailed_token("nina@example.org"), salt="accounts.invitation") == invitation.key


def test_inviting_answers_alike_for_a_stranger_a_user_and_another_partners_member(
    partner, partner_admin, invitee, southwind_member
):
    answers = [
        services.partner_member_invite(partner=partner, email=email, is_admin=False, actor=partner_admin)
        for email in ("nobody@else.example", invitee.email, southwind_member.email)
    ]

    assert [a.email for a in answers] == ["nobody@else.example", invitee.email, southwind_member.email]
    assert Notification.objects.filter(kind="partner.invitation").count() == 3
    assert southwind_member.partner_membership.partner.name == "Southwind Systems"


def test_partner_sees_nothing_of_an_invited_user_before_acceptance(partner, partner_admin, invitee):
    acme = SmartAccountFactory(name="Acme")
    SmartAccountRoleFactory(user=invitee, content_object=acme, role=Role.SA_ADMIN)

    invitation = services.partner_member_invite(partner=partner, email=invitee.email, is_admin=False,
                                                actor=partner_admin)

    assert not PartnerMembership.objects.filter(partner=partner, user=invitee).exists()
    assert partner_customer_roles(partner=partner) == []
    assert list(services.partner_invitations_pending(partner=partner)) == [invitation]


def test_accepting_makes_the_invitee_a_member_with_the_role_offered(partner, partner_admin, invitee):
    token = invite(partner, partner_admin, invitee.email, is_admin=True)

    membership = services.partner_invitation_accept(token=token, actor=invitee)

    assert (membership.partner, membership.user, membership.is_admin) == (partner, invitee, True)
    assert Invitation.objects.get(email=invitee.email).used_at is not None
    assert list(services.partner_invitations_pending(partner=partner)) == []


def test_partner_invitation_is_single_use_and_expires(partner, partner_admin, invitee):
    token = invite(partner, partner_admin, invitee.email)
    services.partner_invitation_accept(token=token, actor=invitee)
    services.partner_member_remove(membership=invitee.partner_membership, actor=partner_admin)

    with pytest.raises(ValidationError, match="already been used"):
        services.partner_invitation_accept(token=token, actor=invitee)

    later = invite(partner, partner_admin, invitee.email)
    Invitation.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="invalid or has expired"):
        services.partner_invitation_accept(token=later, actor=invitee)
    with pytest.raises(ValidationError, match="invalid or has expired"):
        services.partner_invitation_accept(token=later[:-2] + "xx", actor=invitee)
    assert not PartnerMembership.objects.filter(user=invitee).exists()


def test_only_the_invited_verified_address_may_accept(partner, partner_admin, invitee):
    token = invite(partner, partner_admin, invitee.email)
    unverified = UserFactory(email="ghost@example.org", unverified=True)
    ghost_token = invite(partner, partner_admin, unverified.email)

    with pytest.raises(PermissionDenied, match="This link is for nina@example.org"):
        services.partner_invitation_accept(token=token, actor=UserFactory(email="eve@example.org"))
    with pytest.raises(PermissionDenied, match="Verify your email address"):
        services.partner_invitation_accept(token=ghost_token, actor=unverified)

    assert not PartnerMembership.objects.filter(partner=partner).exclude(user=partner_admin).exists()
    assert Invitation.objects.filter(used_at__isnull=False).count() == 0


def test_a_member_of_another_partner_must_leave_it_before_accepting(partner, partner_admin, southwind_member):
    token = invite(partner, partner_admin, southwind_member.email)

    with pytest.raises(ValidationError, match="You already belong to Southwind Systems"):
        services.partner_invitation_accept(token=token, actor=southwind_member)

    assert southwind_member.partner_membership.partner.name == "Southwind Systems"
    assert Invitation.objects.get(email=southwind_member.email).used_at is None  # still good once they leave


def test_declining_uses_up_the_invitation_and_joins_nothing(partner, partner_admin, invitee):
    token = invite(partner, partner_admin, invitee.email)

    services.partner_invitation_decline(token=token, actor=invitee)

    assert not PartnerMembership.objects.filter(user=invitee).exists()
    with pytest.raises(ValidationError, match="already been used"):
        services.partner_invitation_accept(token=token, actor=invitee)


def test_inviting_an_address_again_sends_a_fresh_link_and_voids_the_old(partner, partner_admin, invitee):
    first = invite(partner, partner_admin, invitee.email)
    second = invite(partner, partner_admin, invitee.email, is_admin=True)

    assert first != second
    assert Notification.objects.filter(kind="partner.invitation", recipient=invitee.email).count() == 2
    assert services.partner_invitations_pending(partner=partner).count() == 1
    with pytest.raises(ValidationError, match="invalid or has expired"):
        services.partner_invitation_accept(token=first, actor=invitee)
    assert services.partner_invitation_accept(token=second, actor=invitee).is_admin is True


def test_a_revoked_invitation_can_no_longer_be_accepted(partner, partner_admin, partner_user, invitee):
    token = invite(partner, partner_admin, invitee.email)
    invitation = Invitation.objects.get(email=invitee.email)

    with pytest.raises(PermissionDenied):
        services.partner_invitation_revoke(invitation=invitation, actor=partner_user)
    services.partner_invitation_revoke(invitation=invitation, actor=partner_admin)

    with pytest.raises(ValidationError, match="invalid or has expired"):
        services.partner_invitation_accept(token=token, actor=invitee)
    assert list(services.partner_invitations_pending(partner=partner)) == []


def test_only_the_partners_admins_and_staff_invite(partner, partner_admin, partner_user, staff_user, southwind_member):
    southwind_admin = PartnerMembershipFactory(partner=southwind_member.partner_membership.partner, is_admin=True).user
    for outsider in (partner_user, southwind_admin):
        with pytest.raises(PermissionDenied):
            services.partner_member_invite(partner=partner, email="nobody@else.example", is_admin=False, actor=outsider)
    assert not Invitation.objects.exists()

    services.partner_member_invite(partner=partner, email="nobody@else.example", is_admin=False, actor=staff_user)
    assert Invitation.objects.get().invited_by == staff_user


def test_inviting_one_of_the_partners_own_members_is_a_field_error(partner, partner_admin, partner_user):
    with pytest.raises(ValidationError) as caught:
        services.partner_member_invite(partner=partner, email=partner_user.email.upper(), is_admin=True,
                                       actor=partner_admin)

    assert caught.value.message_dict == {"email": ["pat@northwind.example is already a member of Northwind Networks."]}
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@b", "x" * 250 + "@example.org", "nul\x00@example.org"])
def test_a_bad_address_is_a_field_error_and_invites_nobody(partner, partner_admin, email):
    with pytest.raises(ValidationError) as caught:
        services.partner_member_invite(partner=partner, email=email, is_admin=False, actor=partner_admin)

    assert list(caught.value.message_dict) == ["email"]
    assert not Invitation.objects.exists() and not Notification.objects.exists()


def test_staff_still_add_a_registered_user_directly(partner, staff_user, invitee):
    membership = services.partner_member_add(partner=partner, email=invitee.email, is_admin=True, actor=staff_user)

    assert (membership.partner, membership.is_admin) == (partner, True)


def test_an_invitation_of_another_purpose_does_not_make_a_member(partner, invitee):
    _, path = services.invitation_create(purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email=invitee.email,
                                         smart_account=SmartAccountFactory(new=True))
    token = path.removeprefix("/invite/").strip("/")

    with pytest.raises(ValidationError, match="invalid or has expired"):
        services.partner_invitation_accept(token=token, actor=invitee)

    assert not PartnerMembership.objects.filter(user=invitee).exists()
