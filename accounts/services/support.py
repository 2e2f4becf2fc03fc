"""Support cases: opened by a user, answered by staff (replies are emailed), closed."""
from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from .. import permissions
from ..models import SmartAccount, SupportCase, SupportCaseStatus, SupportMessage, User
from ..permissions import VIEW
from ..validators import refuse_control_characters
from ._checks import _clean_name
from .outbox import notification_queue


@transaction.atomic
def support_case_open(*, actor: User, subject: str, body: str, smart_account: SmartAccount | None = None,
                      order_number: str = "") -> SupportCase:
    subject = _clean_name(subject, field="subject", max_length=200)
    if not (body or "").strip():
        raise ValidationError({"body": "Describe the problem."})
    body = refuse_control_characters(body.strip(), field="body")
    order_number = refuse_control_characters((order_number or "").strip()[:40], field="order_number")
    if smart_account is not None and not permissions.can(actor, VIEW, smart_account):
        raise ValidationError({"smart_account": "Choose an account you have access to."})
    case = SupportCase.objects.create(user=actor, subject=subject, smart_account=smart_account,
                                      order_number=order_number)
    SupportMessage.objects.create(case=case, author=actor, body=body)
    return case


@transaction.atomic
def support_case_reply(*, case: SupportCase, author: User, body: str, from_staff: bool = False) -> SupportMessage:
    """A message on the case; staff replies are emailed to the user who opened it."""
    if not (body or "").strip():
        raise ValidationError({"body": "Write a message."})
    body = refuse_control_characters(body.strip(), field="body")
    if not from_staff and author.pk != case.user_id:
        raise PermissionDenied("Not your case.")
    message = SupportMessage.objects.create(case=case, author=author, body=body, from_staff=from_staff)
    case.status = SupportCaseStatus.WAITING_ON_CUSTOMER if from_staff else SupportCaseStatus.OPEN
    case.save(update_fields=["status", "updated_at"])
    if from_staff:
        notification_queue(kind="support_case.reply", about=message, recipients=[case.user.email],
                           template="support_case_reply", context={"case": case, "message": message})
    return message


@transaction.atomic
def support_case_set_status(*, case: SupportCase, status: str, actor: User) -> SupportCase:
    if status not in SupportCaseStatus.values:
        raise ValidationError({"status": "Unknown status."})
    if not permissions.can_set_support_case_status(actor, case, status):
        raise PermissionDenied("Only staff can change a case's status.")
    case.status = status
    case.save(update_fields=["status", "updated_at"])
    return case
