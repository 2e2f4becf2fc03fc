"""Partners and their members: creating and changing a partner, adding, removing, promoting
members; a partner keeps at least one admin."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from .. import permissions
from ..models import (
    EventAction,
    HoldingMembership,
    Partner,
    PartnerKind,
    PartnerMembership,
    SmartAccount,
    SmartAccountKind,
    User,
)
from ._checks import _clean_name, _user_by_email, guard_unique

# The unique name (case-sensitive, as the column is) and its case-blind twin.
PARTNER_NAME_CONSTRAINTS = ("unique_partner_name_ci", "accounts_partner_name_key", "accounts_partner.name")
from .events import event_record


@transaction.atomic
def partner_create(*, name: str, kind: str, distributor: Partner | None = None, actor: User | None = None) -> Partner:
    if actor is not None and not permissions.can_manage_partners(actor):
        raise permissions.refusal(actor, "Only partner staff may create a partner.")
    name = _clean_name(name, max_length=200)
    if kind not in PartnerKind.values:
        raise ValidationError({"kind": "Choose reseller or distributor."})
    taken = ValidationError({"name": "A partner with this name already exists."})
    if Partner.objects.filter(name__iexact=name).exists():
        raise taken
    if distributor is not None:
        if kind != PartnerKind.RESELLER:
            raise ValidationError({"distributor": "Only a reseller is linked to a distributor."})
        if distributor.kind != PartnerKind.DISTRIBUTOR:
            raise ValidationError({"distributor": f"{distributor.name} is not a distributor."})
    partner = guard_unique(lambda: Partner.objects.create(name=name, kind=kind), taken=taken,
                          constraints=PARTNER_NAME_CONSTRAINTS)
    if distributor is not None:
        distributor.linked_resellers.add(partner)
    return partner


def partner_validate(
    *, partner: Partner, name: str, kind: str, linked_resellers: Iterable[Partner] | None = None
) -> dict:
    """partner_update's rules, without saving: the cleaned `name`, `kind` and `linked_resellers`
    (a list, or None for unchanged), or a field-keyed ValidationError. The back office's form
    shows them next to its fields."""
    errors: dict[str, str] = {}
    try:
        name = _clean_name(name, max_length=200)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    else:
        if Partner.objects.filter(name__iexact=name).exclude(pk=partner.pk).exists():
            errors["name"] = "A partner with this name already exists."
    if kind not in PartnerKind.values:
        raise ValidationError({**errors, "kind": "Choose reseller or distributor."})
    resellers = None if linked_resellers is None else list(linked_resellers)
    if resellers is not None:
        wrong = [p.name for p in resellers if p.pk == partner.pk or p.kind != PartnerKind.RESELLER]
        if wrong:
            errors["linked_resellers"] = "Only resellers are linked to a distributor: " + ", ".join(wrong) + "."
    if kind == PartnerKind.RESELLER and partner.kind == PartnerKind.DISTRIBUTOR:
        # Two-tier orders name the distributor and its reseller: it stays what they say it is.
        # (`orders`, `resold_orders`: the orders app's reverse relations, read without importing it.)
        if resellers if resellers is not None else partner.linked_resellers.exists():
            errors["kind"] = "A distributor with linked resellers stays a distributor; unlink them first."
        elif partner.orders.filter(reseller__isnull=False).exists():
            errors["kind"] = "This distributor has two-tier orders for its resellers; it stays a distributor."
    if kind == PartnerKind.DISTRIBUTOR and partner.kind == PartnerKind.RESELLER:
        distributors = list(partner.distributors.values_list("name", flat=True))
        if distributors:
            errors["kind"] = f"Linked to distributor {', '.join(distributors)} as a reseller; unlink it there first."
        elif partner.resold_orders.exists():
            errors["kind"] = "This reseller has two-tier orders through a distributor; it stays a reseller."
    if kind == PartnerKind.RESELLER and resellers and "kind" not in errors:
        errors["linked_resellers"] = "Only a distributor has linked resellers."
    if errors:
        raise ValidationError(errors)
    return {"name": name, "kind": kind, "linked_resellers": resellers}


@transaction.atomic
def partner_update(
    *, partner: Partner, name: str | None = None, kind: str | None = None,
    linked_resellers: Iterable[Partner] | None = None, actor: User | None,
) -> Partner:
    """Rename a partner, make a reseller a distributor (or back), set a distributor's linked
    resellers: partner staff (the back office) or the system. partner_create's rules hold (a name
    unique whatever its case); a distributor whose resellers or two-tier orders name it stays one,
    as does a reseller linked to a distributor. The change is recorded in the partner's holding
    accounts' event logs."""
    if actor is not None and not permissions.can_manage_partners(actor):
        raise permissions.refusal(actor, "Only partner staff may change a partner.")
    current = Partner.objects.select_for_update().filter(pk=partner.pk).first()
    if current is None:
        raise ValidationError({"name": "This partner no longer exists."})
    valid = partner_validate(
        partner=current, name=current.name if name is None else name, kind=current.kind if kind is None else kind,
        linked_resellers=linked_resellers,
    )
    detail: dict = {}
    for field in ("name", "kind"):
        if valid[field] != getattr(current, field):
            detail[field] = {"from": getattr(current, field), "to": valid[field]}
            setattr(current, field, valid[field])
    if detail:
        guard_unique(lambda: current.save(update_fields=[*detail]), constraints=PARTNER_NAME_CONSTRAINTS,
                    taken=ValidationError({"name": "A partner with this name already exists."}))
    if valid["linked_resellers"] is not None:
        before = {p.pk: p.name for p in current.linked_resellers.all()}
        after = {p.pk: p.name for p in valid["linked_resellers"]}
        if before.keys() != after.keys():
            current.linked_resellers.set(valid["linked_resellers"])
            detail["linked_resellers"] = {
                "added": sorted(after[pk] for pk in after.keys() - before.keys()),
                "removed": sorted(before[pk] for pk in before.keys() - after.keys()),
            }
    if detail:
        holding = SmartAccount.objects.filter(partner=current, kind=SmartAccountKind.HOLDING).order_by("pk")
        for smart_account in holding:
            event_record(smart_account=smart_account, action=EventAction.PARTNER_UPDATED, actor=actor, obj=current,
                         detail=detail)
    partner.name, partner.kind = current.name, current.kind
    return current


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
    if actor is not None and not permissions.can_manage_partners(actor):
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
