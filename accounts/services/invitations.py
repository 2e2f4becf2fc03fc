"""Invitations (signed, expiring, single-use links) and the partner membership invitations
built on them: invite, revoke, accept, decline."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from ..models import Invitation, InvitationPurpose, Partner, PartnerMembership, SmartAccount, User
from ..selectors import INVITATION_LINK_SALT, invitation_from_link
from ..validators import clean_email
from ._checks import _require_verified
from .outbox import notification_queue, object_key
from .partners import _require_partner_admin


def invitation_create(
    *, purpose: str, email: str, smart_account: SmartAccount | None = None, about: models.Model | None = None,
    **fields,
) -> tuple[Invitation, str]:
    """A new invitation and its signed URL path. `fields`: more columns of the invitation (a
    partner invitation's `partner`, `partner_admin`, `invited_by`)."""
    invitation = Invitation.objects.create(
        key=secrets.token_urlsafe(24),
        purpose=purpose,
        email=email.lower(),
        smart_account=smart_account,
        object_key=object_key(about) if about is not None else "",
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
        **fields,
    )
    return invitation, f"/invite/{invitation_token(invitation)}/"


def invitation_token(invitation: Invitation) -> str:
    """The signed token of an invitation's link (what /invite/<token>/ carries)."""
    return signing.dumps(invitation.key, salt=INVITATION_LINK_SALT)


def invitation_use(*, invitation: Invitation) -> None:
    """Mark used; conditional so two concurrent uses cannot both succeed."""
    if Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(used_at=timezone.now()) != 1:
        raise ValidationError("This link has already been used.")


def partner_invitations_pending(*, partner: Partner | None = None) -> models.QuerySet[Invitation]:
    """A partner's invitations that may still be accepted (every partner's without one), newest first."""
    qs = Invitation.objects.filter(
        purpose=InvitationPurpose.JOIN_PARTNER, partner__isnull=False, used_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if partner is not None:
        qs = qs.filter(partner=partner)
    return qs.select_related("invited_by").order_by("-created_at", "-pk")


@transaction.atomic
def partner_member_invite(*, partner: Partner, email: str, is_admin: bool = False, actor: User | None) -> Invitation:
    """Invite an email address to join the partner (as a partner admin with `is_admin`): a signed,
    expiring, single-use link is emailed, and its addressee joins by accepting it.

    The answer is the same whoever the address belongs to (nobody yet, a user, a member of
    another partner): the partner learns nothing of them before they accept. Inviting an
    address again replaces its pending invitation (a fresh link and expiry) and sends that."""
    _require_partner_admin(actor, partner)
    email = clean_email(email)
    # Its own members the partner sees already: saying so tells it nothing new.
    if PartnerMembership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {partner.name}."})
    Partner.objects.select_for_update().filter(pk=partner.pk).first()  # one pending invitation per address
    now = timezone.now()
    partner_invitations_pending(partner=partner).filter(email=email).update(expires_at=now)
    invitation, path = invitation_create(
        purpose=InvitationPurpose.JOIN_PARTNER, email=email, partner=partner, partner_admin=bool(is_admin),
        invited_by=actor if actor is not None and actor.pk else None,
    )
    notification_queue(
        kind="partner.invitation", about=invitation, recipients=[email], template="partner_invitation",
        context={"partner": partner, "invitation": invitation, "invited_by": invitation.invited_by,
                 "link": settings.SITE_URL + path},
    )
    return invitation


@transaction.atomic
def partner_invitation_revoke(*, invitation: Invitation, actor: User | None) -> None:
    """Withdraw a pending invitation: its link stops working (as if expired)."""
    _require_partner_admin(actor, invitation.partner)
    now = timezone.now()
    Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)


def _partner_invitation(token: str, actor: User) -> Invitation:
    """The partner invitation of a link, for its addressee only, their address verified."""
    try:
        invitation = invitation_from_link(token=token, purpose=InvitationPurpose.JOIN_PARTNER, user=actor)
    except ValidationError as exc:
        raise ValidationError({"token": exc.messages})
    _require_verified(actor)
    return invitation


def _partner_invitation_use(invitation: Invitation) -> None:
    """Used up once, and only while still valid: conditional, so that two accepts, or an
    accept and a revoke, at the same moment cannot both succeed."""
    now = timezone.now()
    if not Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True, expires_at__gt=now).update(used_at=now):
        used = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=False).exists()
        raise ValidationError({"token": "This link has already been used." if used
                               else "This link is invalid or has expired."})


@transaction.atomic
def partner_invitation_accept(*, token: str, actor: User) -> PartnerMembership:
    """The invitee joins the partner, as member or admin as offered. Only the addressee, with
    that address verified, and not while they belong to a partner (they leave it first)."""
    invitation = _partner_invitation(token, actor)
    # A user's accepts one at a time: of two invitations accepted at once, one partner is joined.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    current = PartnerMembership.objects.filter(user=actor).select_related("partner").first()
    if current is not None:
        # Told to the invitee only: the inviting partner never learns it.
        raise ValidationError(f"You already belong to {current.partner.name}. Leave it first, then open this "
                              "link again.")
    _partner_invitation_use(invitation)
    return PartnerMembership.objects.create(partner=invitation.partner, user=actor, is_admin=invitation.partner_admin)


@transaction.atomic
def partner_invitation_decline(*, token: str, actor: User) -> Invitation:
    """The invitee says no: the link is used up and nothing else changes."""
    invitation = _partner_invitation(token, actor)
    _partner_invitation_use(invitation)
    return invitation
