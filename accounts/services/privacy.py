"""Closing a user's account: roles and memberships go, the login is disabled, the event log keeps
a pseudonym."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    ApiKey,
    Event,
    EventAction,
    HoldingMembership,
    PartnerMembership,
    Role,
    SmartAccountRole,
    User,
    VirtualAccountRole,
)
from .events import event_record
from .partners import _check_partner_keeps_an_admin
from .roles import _lock_roles


@transaction.atomic
def user_close(*, user: User, actor: User, confirm_email: str | None = None) -> None:
    """Close an account: roles and memberships go, the login is disabled, and the event log
    keeps a pseudonym instead of the email.

    `confirm_email`: the email address the caller typed to confirm (pages and the API pass it);
    it must be the user's own (case-insensitive, trimmed), else ValidationError keyed `confirm_email`."""
    if actor.pk != user.pk and not permissions.can_manage_users(actor):
        raise PermissionDenied("You can close only your own account.")
    if user.closed_at is not None:
        raise ValidationError({"confirm_email": "This account is closed already."})
    if confirm_email is not None and confirm_email.strip().lower() != user.email.lower():
        raise ValidationError({"confirm_email": f"Type your email address, {user.email}, exactly."})
    # An account must not be left without an admin: hand it over first. Decided under the role
    # lock of every account the user holds a role in, so two admins closing at once (or one
    # closing while the other is revoked) never leave an account with none.
    _lock_roles(
        *SmartAccountRole.objects.filter(user=user).values_list("content_object_id", flat=True),
        *VirtualAccountRole.objects.filter(user=user).values_list("content_object__smart_account_id", flat=True),
    )
    sole = [
        row.content_object.name
        for row in SmartAccountRole.objects.filter(user=user, permission__codename=Role.SA_ADMIN).select_related("content_object")
        if not SmartAccountRole.objects.filter(content_object=row.content_object, permission__codename=Role.SA_ADMIN)
        .exclude(user=user).exists()
    ]
    # Staff closing someone's account (the back office) read who, not "you".
    who = "You are" if actor.pk == user.pk else f"{user.email} is"
    if sole:
        raise ValidationError({"confirm_email": f"{who} the only admin of " + ", ".join(sole)
                               + ". Grant another user Smart Account admin there first."})
    # Likewise a partner keeps an admin (the rule of removing and demoting one).
    membership = PartnerMembership.objects.filter(user=user).select_related("partner").first()
    if membership is not None:
        _check_partner_keeps_an_admin(
            membership, field="confirm_email",
            message=f"{who} the only admin of partner {membership.partner.name}. Make another member partner admin first.",
        )
    for row in SmartAccountRole.objects.filter(user=user).select_related("content_object", "permission"):
        event_record(smart_account=row.content_object, action=EventAction.ROLE_REVOKED, actor=actor,
                     detail={"user": f"closed-user-{user.pk}", "role": row.permission.codename, "scope": "account"})
    SmartAccountRole.objects.filter(user=user).delete()
    VirtualAccountRole.objects.filter(user=user).delete()
    HoldingMembership.objects.filter(user=user).delete()
    PartnerMembership.objects.filter(user=user).delete()
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    pseudonym = f"closed-user-{user.pk}"
    Event.objects.filter(actor=user).update(actor_label=pseudonym)
    user.closed_at = timezone.now()
    user.is_active = False
    user.name = ""
    user.email = f"{pseudonym}@closed.invalid"
    user.set_unusable_password()
    user.save()
    user.emailaddress_set.all().delete()
