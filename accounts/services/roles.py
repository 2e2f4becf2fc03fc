"""Roles on Smart and Virtual Accounts: grant, replace, revoke, under a per-account role lock;
an account keeps at least one SA admin."""
from __future__ import annotations

from typing import Iterable

from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import permissions
from ..models import (
    SA_ROLES,
    VA_ROLES,
    EventAction,
    Role,
    SmartAccount,
    SmartAccountRole,
    User,
    VirtualAccount,
    VirtualAccountRole,
)
from ._checks import _user_by_email
from .events import event_record


def _permission(role: str) -> Permission:
    app_model = "smartaccount" if role in SA_ROLES else "virtualaccount"
    return Permission.objects.get(codename=role, content_type__app_label="accounts", content_type__model=app_model)


def _lock_roles(*smart_accounts: SmartAccount | int) -> None:
    """Serialise the role changes of these accounts until the end of the transaction: grants,
    revokes and closing a user each read the roles they decide on (the actor's right, the role
    held now, how many SA admins are left) only after this, so two changes at once never both
    act on what was true before the other (two roles on one object; two admins revoking each
    other and leaving none; an admin acting after losing the role).

    The Smart Account rows are NO KEY UPDATE-locked in ascending id, the package's lock order
    (accounts first): role changes wait for each other, for tree writes (FOR UPDATE) and for the
    work in flight of services acting for a user (SHARE: transfers, device and token writes, PAK
    registrations and conversions, line moves), which re-check the actor's right once they hold
    their lock; so a revocation either waits for such work to commit or the work, locking after
    it, is refused. Never for the system's pool writers or the inserts that reference the
    account (KEY SHARE). SQLite has no row locks; a writing transaction holds the whole database."""
    ids = sorted({sa if isinstance(sa, int) else sa.pk for sa in smart_accounts})
    list(SmartAccount.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def _sa_admins_left(smart_account: SmartAccount, *, without: Iterable[int]) -> bool:
    """Whether the account keeps an SA admin once these role rows are gone (under `_lock_roles`)."""
    admins = SmartAccountRole.objects.filter(content_object=smart_account, permission__codename=Role.SA_ADMIN)
    return admins.exclude(pk__in=list(without)).exists()


def _role_set(*, user: User, role: str, target, smart_account: SmartAccount, actor: User | None):
    """Give `user` exactly `role` on `target`, replacing any other role they held on it."""
    _lock_roles(smart_account)
    model = SmartAccountRole if role in SA_ROLES else VirtualAccountRole
    others = model.objects.filter(user=user, content_object=target).exclude(permission__codename=role)
    replaced = dict(others.values_list("pk", "permission__codename"))
    if Role.SA_ADMIN in replaced.values() and not _sa_admins_left(target, without=replaced):
        # Replacing an admin's role is revoking it: the account keeps at least one admin.
        raise ValidationError({"role": "An account keeps at least one Smart Account admin."})
    replaced = sorted(replaced.values())
    others.delete()
    row, created = model.objects.get_or_create(
        user=user, content_object=target, permission=_permission(role), defaults={"granted_by": actor}
    )
    if created:
        detail = {"user": user.email, "role": role, "scope": "account" if model is SmartAccountRole else target.name}
        if replaced:
            detail["replaced"] = replaced
        event_record(
            smart_account=smart_account, action=EventAction.ROLE_GRANTED, actor=actor,
            virtual_account=target if isinstance(target, VirtualAccount) else None, obj=row, detail=detail,
        )
    return row


@transaction.atomic
def role_grant(
    *, smart_account: SmartAccount, email: str, role: str, actor: User | None,
    virtual_account: VirtualAccount | None = None,
):
    """Grant an SA role (whole account) or a VA role (that Virtual Account's subtree)."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose one of " + ", ".join(Role.values) + "."})
    if smart_account.is_holding:
        raise ValidationError({"role": "Holding accounts have members, not roles."})
    if role in VA_ROLES:
        if virtual_account is None:
            raise ValidationError({"virtual_account": "A Virtual Account role needs a Virtual Account."})
        if virtual_account.smart_account_id != smart_account.pk:
            raise ValidationError({"virtual_account": "That Virtual Account is not in this Smart Account."})
    elif virtual_account is not None:
        raise ValidationError({"virtual_account": "Smart Account roles apply to the whole account; leave the Virtual Account empty."})
    # The actor's right is read under the lock: an admin whose role goes at this moment grants nothing.
    _lock_roles(smart_account)
    if actor is not None and not permissions.can_manage_role(actor, smart_account=smart_account, role=role, virtual_account=virtual_account):
        raise permissions.refusal(actor, "You may not grant this role.")
    user = _user_by_email(email, field="user_email")
    target = smart_account if role in SA_ROLES else virtual_account
    return _role_set(user=user, role=role, target=target, smart_account=smart_account, actor=actor)


@transaction.atomic
def role_revoke(*, role, actor: User | None) -> None:
    """Take a role away; access ends with this transaction. A role revoked already (by someone
    else a moment ago) is a no-op: nothing changes and nothing is recorded."""
    is_sa = isinstance(role, SmartAccountRole)
    sa = role.content_object if is_sa else role.content_object.smart_account
    va = None if is_sa else role.content_object
    codename = role.permission.codename
    # Everything below is decided under the lock, on the roles as they are now.
    _lock_roles(sa)
    if actor is not None and not permissions.can_manage_role(actor, smart_account=sa, role=codename, virtual_account=va):
        raise permissions.refusal(actor, "You may not revoke this role.")
    if not type(role).objects.filter(pk=role.pk).exists():
        return
    if codename == Role.SA_ADMIN and not _sa_admins_left(sa, without=[role.pk]):
        raise ValidationError({"role": "An account keeps at least one Smart Account admin."})
    type(role).objects.filter(pk=role.pk).delete()
    event_record(smart_account=sa, action=EventAction.ROLE_REVOKED, actor=actor, virtual_account=va,
                 detail={"user": role.user.email, "role": codename, "scope": va.name if va else "account"})
