"""Holding accounts (a partner's own accounts) and their members."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    EventAction,
    HoldingMembership,
    Partner,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    User,
)
from ..selectors import partner_of
from ._checks import _clean_name, _require_verified, _user_by_email
from .events import event_record
from .roles import _lock_roles
from .partners import _require_partner_admin
from .smart_accounts import _smart_account_with_root


@transaction.atomic
def holding_account_create(*, name: str, actor: User, partner: Partner | None = None) -> SmartAccount:
    """Flow 4: a holding account for the actor's partner; the creator joins it."""
    _require_verified(actor)
    partner = partner or partner_of(actor)
    if partner is None:
        raise ValidationError({"kind": "Only partner users can create a holding account."})
    if partner_of(actor) != partner and not permissions.can_manage_partners(actor):
        raise PermissionDenied("You can create holding accounts only for your own partner.")
    name = _clean_name(name, max_length=200)
    name_taken = ValidationError({"name": f"{partner.name} already has a holding account named {name}."})
    if SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, partner=partner, name__iexact=name).exists():
        raise name_taken
    sa = _smart_account_with_root(
        name_taken=name_taken,
        name=name, kind=SmartAccountKind.HOLDING, status=SmartAccountStatus.ACTIVE, partner=partner,
        requested_by=actor, activated_at=timezone.now(),
    )
    event_record(smart_account=sa, action=EventAction.HOLDING_ACCOUNT_CREATED, actor=actor, obj=sa)
    if partner_of(actor) == partner:
        HoldingMembership.objects.create(smart_account=sa, user=actor, notify=True)
    return sa


@transaction.atomic
def holding_member_add(*, smart_account: SmartAccount, email: str, notify: bool = True, actor: User | None) -> HoldingMembership:
    """A partner user joins a holding account (themselves, or added by a partner admin)."""
    if not smart_account.is_holding:
        raise ValidationError({"smart_account": "Only holding accounts have members."})
    user = _user_by_email(email)
    if partner_of(user) != smart_account.partner:
        raise ValidationError({"email": f"{user.email} is not a member of {smart_account.partner.name}."})
    if actor is not None and actor.pk != user.pk:
        _require_partner_admin(actor, smart_account.partner)
    permissions.require_verified(actor)  # joining it oneself is acting too (None: the system)
    _lock_roles(smart_account)  # memberships are a holding account's roles: changed as roles are
    membership, created = HoldingMembership.objects.update_or_create(
        smart_account=smart_account, user=user, defaults={"notify": notify}
    )
    action = EventAction.HOLDING_ACCOUNT_MEMBER_ADDED if created else EventAction.HOLDING_ACCOUNT_MEMBER_UPDATED
    event_record(smart_account=smart_account, action=action, actor=actor, obj=membership,
                 detail={"user": user.email, "notify": notify})
    return membership


@transaction.atomic
def holding_member_remove(*, membership: HoldingMembership, actor: User | None) -> None:
    """A member leaves a holding account (or a partner admin removes them). Like a role's
    revocation, it waits for the line moves its member has under way there, and a move that
    locks after it is refused (orders.services.moving re-reads membership under its lock)."""
    _lock_roles(membership.smart_account_id)
    if actor is not None and actor.pk != membership.user_id:
        _require_partner_admin(actor, membership.smart_account.partner)
    event_record(smart_account=membership.smart_account, action=EventAction.HOLDING_ACCOUNT_MEMBER_REMOVED, actor=actor,
                 detail={"user": membership.user.email})
    membership.delete()
