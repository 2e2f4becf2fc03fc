"""Partners and their members: creating a partner, adding, removing, promoting members; a
partner keeps at least one admin."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from .. import permissions
from ..models import HoldingMembership, Partner, PartnerKind, PartnerMembership, User
from ._checks import _clean_name, _user_by_email


@transaction.atomic
def partner_create(*, name: str, kind: str, distributor: Partner | None = None, actor: User | None = None) -> Partner:
    name = _clean_name(name, max_length=200)
    if kind not in PartnerKind.values:
        raise ValidationError({"kind": "Choose reseller or distributor."})
    if Partner.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A partner with this name already exists."})
    if distributor is not None:
        if kind != PartnerKind.RESELLER:
            raise ValidationError({"distributor": "Only a reseller is linked to a distributor."})
        if distributor.kind != PartnerKind.DISTRIBUTOR:
            raise ValidationError({"distributor": f"{distributor.name} is not a distributor."})
    partner = Partner.objects.create(name=name, kind=kind)
    if distributor is not None:
        distributor.linked_resellers.add(partner)
    return partner


def _require_partner_admin(actor: User | None, partner: Partner) -> None:
    # None is the system (a command, a task); staff and the partner's admins pass (permissions).
    if actor is not None and not permissions.can_manage_partner(actor, partner):
        raise permissions.refusal(actor, "Only a partner admin may manage its members.")


def _check_partner_keeps_an_admin(membership: PartnerMembership, *, field: str, message: str) -> None:
    """Refuse to let `membership` stop being an admin (removed, demoted, its user closed) when it
    is its partner's last. The partner's admin rows are locked first (in pk order), so two
    admins going at once cannot both pass."""
    admins = list(
        PartnerMembership.objects.select_for_update().filter(partner_id=membership.partner_id, is_admin=True)
        .order_by("pk").values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError({field: message})


@transaction.atomic
def partner_member_add(*, partner: Partner, email: str, is_admin: bool = False, actor: User | None) -> PartnerMembership:
    """Put a registered user in a partner directly: vendor staff (the Django admin) and the system
    (commands, demo data) only. Partner admins invite instead (`partner_member_invite`): nobody
    joins a partner without accepting."""
    if actor is not None and not permissions.is_staff(actor):
        raise PermissionDenied("Partner admins invite members; they join by accepting the invitation.")
    user = _user_by_email(email)
    existing = PartnerMembership.objects.filter(user=user).select_related("partner").first()
    if existing is not None and existing.partner_id != partner.pk:
        raise ValidationError({"email": f"{user.email} already belongs to partner {existing.partner.name}."})
    if existing is not None and existing.is_admin and not is_admin:
        if not PartnerMembership.objects.filter(partner=partner, is_admin=True).exclude(pk=existing.pk).exists():
            raise ValidationError({"is_admin": "A partner keeps at least one admin."})
    membership, _ = PartnerMembership.objects.update_or_create(user=user, defaults={"partner": partner, "is_admin": is_admin})
    return membership


@transaction.atomic
def partner_member_remove(*, membership: PartnerMembership, actor: User | None) -> None:
    _require_partner_admin(actor, membership.partner)
    # Whoever removes them (the admin leaving, staff), the last admin stays.
    _check_partner_keeps_an_admin(membership, field="email", message="A partner keeps at least one admin.")
    HoldingMembership.objects.filter(user=membership.user, smart_account__partner=membership.partner).delete()
    membership.delete()


@transaction.atomic
def partner_member_set_admin(*, membership: PartnerMembership, is_admin: bool, actor: User | None) -> PartnerMembership:
    """Make a partner member an admin, or an ordinary member again; a partner keeps at least
    one admin (rows locked so two admins demoting each other cannot both succeed)."""
    _require_partner_admin(actor, membership.partner)
    if not is_admin:
        _check_partner_keeps_an_admin(membership, field="is_admin",
                                      message="A partner keeps at least one admin; make someone else admin first.")
    PartnerMembership.objects.filter(pk=membership.pk).update(is_admin=is_admin)
    membership.is_admin = is_admin
    return membership
