"""The Virtual Account tree of a Smart Account: create, rename, move, delete (tree writes are
serialised per account). Each takes the tree lock first (the package's lock order), then reads
the VAs again and the actor's right on them: a VA gone meanwhile is a 404 (or a 400 on `parent`),
and a role revoked meanwhile refuses the write (a revocation waits for the tree lock)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404

from .. import permissions
from ..models import EventAction, SmartAccount, User, VirtualAccount
from ..permissions import STRUCTURE
from ._checks import _clean_name, _clean_text, _require
from .events import event_record


def _lock_tree(smart_account: SmartAccount | int) -> None:
    """Serialise tree writes per account (MPTT renumbers lft/rght across the tree): the Smart
    Account row FOR UPDATE, which also waits for role changes (NO KEY UPDATE) and for the work
    in flight in the account (SHARE, KEY SHARE), and keeps them waiting until this commits."""
    pk = smart_account if isinstance(smart_account, int) else smart_account.pk
    SmartAccount.objects.select_for_update().filter(pk=pk).first()


def _fresh(va: VirtualAccount) -> VirtualAccount:
    """The VA as it is now, under the tree lock; 404 if it was deleted meanwhile."""
    fresh = VirtualAccount.objects.select_related("smart_account", "parent").filter(pk=va.pk).first()
    if fresh is None:
        raise Http404("No Virtual Account found.")
    return fresh


def _check_sibling_name_free(parent: VirtualAccount, name: str, exclude: VirtualAccount | None = None) -> None:
    siblings = VirtualAccount.objects.filter(parent=parent, name__iexact=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise ValidationError({"name": f"{parent.name} already has a Virtual Account named {name}."})


@transaction.atomic
def virtual_account_create(*, parent: VirtualAccount, name: str, actor: User | None, description: str = "") -> VirtualAccount:
    _require(actor, STRUCTURE, parent)
    name = _clean_name(name)
    description = _clean_text(description, field="description", max_length=300)
    _lock_tree(parent.smart_account_id)
    parent = VirtualAccount.objects.select_related("smart_account").filter(pk=parent.pk).first()  # fresh lft/rght
    if parent is None:
        raise ValidationError({"parent": "That Virtual Account no longer exists."})
    _require(actor, STRUCTURE, parent)  # again, under the lock
    _check_sibling_name_free(parent, name)
    va = VirtualAccount.objects.create(
        smart_account_id=parent.smart_account_id, parent=parent, name=name, description=description
    )
    event_record(smart_account=parent.smart_account, action=EventAction.VIRTUAL_ACCOUNT_CREATED, actor=actor, virtual_account=va,
                 obj=va, detail={"parent": parent.name})
    return va


def _require_restructure(actor: User | None, va: VirtualAccount) -> None:
    if va.parent_id is None:
        raise ValidationError({"name": f"The root Virtual Account {va.name} cannot be renamed, moved or deleted."})
    if actor is not None and not permissions.can_restructure(actor, va):
        raise permissions.refusal(actor, "You may not change this Virtual Account.")


@transaction.atomic
def virtual_account_rename(*, virtual_account: VirtualAccount, name: str, actor: User | None,
                           description: str | None = None) -> VirtualAccount:
    va = virtual_account
    _require_restructure(actor, va)
    name = _clean_name(name)
    if description is not None:
        description = _clean_text(description, field="description", max_length=300)
    _lock_tree(va.smart_account_id)
    va = _fresh(va)
    _require_restructure(actor, va)  # again, under the lock
    _check_sibling_name_free(va.parent, name, exclude=va)
    old = va.name
    va.name = name
    if description is not None:
        va.description = description
    va.save()
    event_record(smart_account=va.smart_account, action=EventAction.VIRTUAL_ACCOUNT_RENAMED, actor=actor, virtual_account=va,
                 obj=va, detail={"from": old, "to": name})
    return va


@transaction.atomic
def virtual_account_move(*, virtual_account: VirtualAccount, parent: VirtualAccount, actor: User | None) -> VirtualAccount:
    """Re-parent within the same Smart Account; never under itself or its own descendant."""
    _require_restructure(actor, virtual_account)
    _require(actor, STRUCTURE, parent)
    _lock_tree(virtual_account.smart_account_id)
    va = _fresh(virtual_account)
    parent = VirtualAccount.objects.filter(pk=parent.pk).first()
    if parent is None:
        raise ValidationError({"parent": "That Virtual Account no longer exists."})
    _require_restructure(actor, va)  # again, under the lock
    _require(actor, STRUCTURE, parent)
    if parent.smart_account_id != va.smart_account_id:
        raise ValidationError({"parent": "A Virtual Account can move only within its own Smart Account."})
    if parent.pk == va.pk or parent.is_descendant_of(va):
        raise ValidationError({"parent": f"{va.name} cannot move under itself or one of its own descendants."})
    _check_sibling_name_free(parent, va.name, exclude=va)
    old_parent = va.parent.name
    va.move_to(parent, "last-child")
    va = VirtualAccount.objects.get(pk=va.pk)
    event_record(smart_account=va.smart_account, action=EventAction.VIRTUAL_ACCOUNT_MOVED, actor=actor, virtual_account=va,
                 obj=va, detail={"from": old_parent, "to": parent.name})
    return va


@transaction.atomic
def virtual_account_delete(*, virtual_account: VirtualAccount, actor: User | None) -> None:
    """Only an empty Virtual Account goes: no children, licenses or devices."""
    va = virtual_account
    _require_restructure(actor, va)
    _lock_tree(va.smart_account_id)
    va = _fresh(va)
    _require_restructure(actor, va)  # again, under the lock
    if va.get_children().exists():
        raise ValidationError({"virtual_account": f"{va.name} still has Virtual Accounts below it; move or delete them first."})
    sa = va.smart_account
    detail = {"name": va.name, "parent": va.parent.name}
    try:
        with transaction.atomic():
            if sa.default_virtual_account_id == va.pk:
                raise ValidationError({"virtual_account": f"{va.name} is the account's default Virtual Account; choose another default first."})
            va.delete()
    except (ProtectedError, RestrictedError):
        raise ValidationError(
            {"virtual_account": f"{va.name} still holds licenses or devices; transfer them to another Virtual Account first."}
        )
    event_record(smart_account=sa, action=EventAction.VIRTUAL_ACCOUNT_DELETED, actor=actor, detail=detail)
