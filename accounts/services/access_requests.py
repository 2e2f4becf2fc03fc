"""Access requests (flow 1): a user asks an account's admins for a role; they approve with a
role and scope, or deny."""
from __future__ import annotations

from typing import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import (
    SA_ROLES,
    VA_ROLES,
    AccessRequest,
    AccessRequestStatus,
    EventAction,
    Role,
    SmartAccount,
    SmartAccountStatus,
    User,
    VirtualAccount,
)
from ..permissions import ADMINISTER
from ..selectors import sa_admin_emails
from ..validators import refuse_control_characters
from ._checks import _clean_text, _require, _require_verified, guard_unique
from .events import event_record
from .outbox import notification_queue
from .roles import role_grant


@transaction.atomic
def access_request_create(
    *, smart_account: SmartAccount, actor: User, message: str = "", scope_wanted: str = ""
) -> AccessRequest:
    """Flow 1: ask an account's admins for a role. The scope is named in words (empty: the whole
    account): a requester without a role never sees the tree, so the admins choose the real
    scope when they approve."""
    _require_verified(actor)
    if smart_account.is_holding:
        raise ValidationError({"smart_account": "Holding accounts are joined through the partner, not by request."})
    if smart_account.status == SmartAccountStatus.NEW:
        # Nobody could decide: its first admin is the customer contact who activates it.
        raise ValidationError({"smart_account": "This account is not active yet: its customer contact activates it "
                                                "and becomes its first admin. Ask them for access then."})
    scope_wanted = " ".join((scope_wanted or "").split())  # one line, as the admins read it
    if len(scope_wanted) > 200:
        raise ValidationError({"scope_wanted": "Describe the scope in at most 200 characters."})
    scope_wanted = refuse_control_characters(scope_wanted, field="scope_wanted")
    pending = ValidationError({"smart_account": "You already have a pending request for this account."})
    if AccessRequest.objects.filter(smart_account=smart_account, requester=actor, status=AccessRequestStatus.PENDING).exists():
        raise pending
    message = _clean_text(message, field="message", max_length=2000)
    request = guard_unique(
        lambda: AccessRequest.objects.create(smart_account=smart_account, requester=actor, message=message,
                                             scope_wanted=scope_wanted),
        # SQLite names a column index's columns, not the index.
        constraints=("one_pending_request_per_user", "accounts_accessrequest.smart_account_id, accounts_accessrequest.requester_id"),
        taken=pending,
    )
    event_record(smart_account=smart_account, action=EventAction.ACCESS_REQUEST_CREATED, actor=actor, obj=request,
                 detail={"scope": scope_wanted or "account"})
    admins = sa_admin_emails(smart_account)
    notification_queue(kind="access_request.created", about=request, recipients=admins, template="access_request_created",
                       context={"request": request, "smart_account": smart_account})
    return request


def _pending_request(access_request: AccessRequest) -> AccessRequest:
    request = AccessRequest.objects.select_for_update().select_related("smart_account", "requester").get(pk=access_request.pk)
    if request.status != AccessRequestStatus.PENDING:
        raise ValidationError({"status": f"This request was already {request.status}."})
    return request


@transaction.atomic
def access_request_approve(
    *, access_request: AccessRequest, role: str, actor: User | None, virtual_accounts: Iterable[VirtualAccount] = ()
) -> AccessRequest:
    """Grant exactly the chosen role and scope (whole account, or each chosen Virtual Account)."""
    request = _pending_request(access_request)
    sa = request.smart_account
    _require(actor, ADMINISTER, sa)
    virtual_accounts = list(virtual_accounts)
    if role in SA_ROLES and virtual_accounts:
        raise ValidationError({"virtual_accounts": "A Smart Account role covers the whole account; choose a VA role for chosen Virtual Accounts."})
    if role in VA_ROLES and not virtual_accounts:
        raise ValidationError({"virtual_accounts": "Choose the Virtual Accounts this role applies to."})
    if role in SA_ROLES:
        role_grant(smart_account=sa, email=request.requester.email, role=role, actor=actor)
    elif role in VA_ROLES:
        for va in virtual_accounts:
            role_grant(smart_account=sa, email=request.requester.email, role=role, actor=actor, virtual_account=va)
    else:
        raise ValidationError({"role": "Choose one of " + ", ".join(Role.values) + "."})
    request.status = AccessRequestStatus.APPROVED
    request.granted_role = role
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "granted_role", "decided_by", "decided_at"])
    event_record(smart_account=sa, action=EventAction.ACCESS_REQUEST_APPROVED, actor=actor, obj=request,
                 detail={"role": role, "scope": [va.name for va in virtual_accounts] or "account"})
    notification_queue(kind="access_request.decided", about=request, recipients=[request.requester.email],
                       template="access_request_decided", context={"request": request, "smart_account": sa})
    return request


@transaction.atomic
def access_request_deny(*, access_request: AccessRequest, actor: User | None, reason: str = "") -> AccessRequest:
    reason = _clean_text(reason, field="reason", max_length=2000)
    request = _pending_request(access_request)
    _require(actor, ADMINISTER, request.smart_account)
    request.status = AccessRequestStatus.DENIED
    request.reason = reason
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    event_record(smart_account=request.smart_account, action=EventAction.ACCESS_REQUEST_DENIED, actor=actor, obj=request,
                 detail={"reason": request.reason})
    notification_queue(kind="access_request.decided", about=request, recipients=[request.requester.email],
                       template="access_request_decided", context={"request": request, "smart_account": request.smart_account})
    return request
