"""Smart Accounts: created by a customer, requested by a partner for a customer and activated by
its contact, suspended and reinstated by staff; the default Virtual Account."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from .. import permissions
from ..models import (
    SA_ROLES,
    EventAction,
    Invitation,
    InvitationPurpose,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    User,
    VirtualAccount,
)
from ..permissions import ADMINISTER
from ..selectors import partner_of
from ..signals import smart_account_activated
from ._checks import _clean_domain, _clean_name, _require, _require_verified, _user_by_email, guard_unique
from .events import event_record
from .invitations import invitation_create
from .outbox import notification_queue
from .roles import _role_set


def _smart_account_with_root(*, name_taken: ValidationError, **fields) -> SmartAccount:
    """Insert the account and its root. The name check before this cannot see a twin created at
    the same moment: the unique constraint does, and answers what the check would have said."""
    constraint = ("unique_holding_account_name_per_partner" if fields["kind"] == SmartAccountKind.HOLDING
                  else "unique_customer_account_name_per_domain")
    sa = guard_unique(lambda: SmartAccount.objects.create(**fields), constraints=(constraint,), taken=name_taken)
    root = VirtualAccount.objects.create(smart_account=sa, name=VirtualAccount.ROOT_NAME)
    sa.default_virtual_account = root
    sa.save(update_fields=["default_virtual_account"])
    return sa


def _customer_name_taken(name: str, domain: str) -> ValidationError:
    return ValidationError({"name": f"A Smart Account named {name} already exists for {domain}."})


def _check_customer_name_free(name: str, domain: str) -> None:
    if SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, domain=domain, name__iexact=name).exists():
        raise _customer_name_taken(name, domain)


@transaction.atomic
def smart_account_create(*, name: str, domain: str, actor: User) -> SmartAccount:
    """Flow 2: a verified user creates an account for their own email's domain; active at once,
    the creator is its SA admin."""
    _require_verified(actor)
    name = _clean_name(name, max_length=200)
    domain = _clean_domain(domain)
    if domain != actor.email_domain:
        raise ValidationError({"domain": f"You can create an account only for your own domain ({actor.email_domain})."})
    _check_customer_name_free(name, domain)
    sa = _smart_account_with_root(
        name_taken=_customer_name_taken(name, domain),
        name=name, domain=domain, kind=SmartAccountKind.CUSTOMER, status=SmartAccountStatus.ACTIVE,
        requested_by=actor, contact=actor, activated_at=timezone.now(),
    )
    event_record(smart_account=sa, action=EventAction.SMART_ACCOUNT_CREATED, actor=actor, obj=sa)
    _role_set(user=actor, role=Role.SA_ADMIN, target=sa, smart_account=sa, actor=actor)
    return sa


@transaction.atomic
def smart_account_request(*, name: str, domain: str, contact_email: str, actor: User) -> SmartAccount:
    """Flow 3: a partner user requests an account for a customer. The contact must be a
    registered user of exactly that domain; the account stays `new` until they activate it."""
    _require_verified(actor)
    partner = partner_of(actor)
    if not permissions.can_request_account_for_customer(actor):
        raise PermissionDenied("Only partner users can request an account on a customer's behalf.")
    name = _clean_name(name, max_length=200)
    domain = _clean_domain(domain)
    contact = _user_by_email(contact_email, field="contact_email")
    if contact.email_domain != domain:
        raise ValidationError(
            {"contact_email": f"The contact's email domain ({contact.email_domain}) must be the account's domain ({domain})."}
        )
    _check_customer_name_free(name, domain)
    sa = _smart_account_with_root(
        name_taken=_customer_name_taken(name, domain),
        name=name, domain=domain, kind=SmartAccountKind.CUSTOMER, status=SmartAccountStatus.NEW,
        partner=partner, contact=contact, requested_by=actor,
    )
    event_record(smart_account=sa, action=EventAction.SMART_ACCOUNT_REQUESTED, actor=actor, obj=sa, detail={"contact": contact.email})
    _, url = invitation_create(purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email=contact.email, smart_account=sa)
    notification_queue(
        kind="smart_account.activation", about=sa, recipients=[contact.email], template="smart_account_activation",
        context={"smart_account": sa, "requested_by": actor, "partner": partner, "link": settings.SITE_URL + url},
    )
    return sa


@transaction.atomic
def smart_account_activate(
    *, smart_account: SmartAccount, actor: User | None, grant_partner_role: str | None = None
) -> SmartAccount:
    """`new` → `active`, by the named contact (or staff). The contact becomes SA admin and may
    grant the requesting partner user a role in the same step. Lines waiting for the account
    are provisioned (orders listens to `smart_account_activated`)."""
    sa = SmartAccount.objects.select_for_update().get(pk=smart_account.pk)
    if actor is not None and not permissions.can_activate(actor, sa):
        raise permissions.refusal(actor, "Only the account's named contact can activate it.")
    if sa.status != SmartAccountStatus.NEW:
        raise ValidationError({"status": f"Only a new account can be activated; this one is {sa.status}."})
    if grant_partner_role and grant_partner_role not in SA_ROLES:
        raise ValidationError({"grant_partner_role": "Choose sa_admin, sa_user or sa_viewer."})
    sa.status = SmartAccountStatus.ACTIVE
    sa.activated_at = timezone.now()
    sa.save(update_fields=["status", "activated_at"])
    event_record(smart_account=sa, action=EventAction.SMART_ACCOUNT_ACTIVATED, actor=actor, obj=sa)
    if sa.contact_id:
        _role_set(user=sa.contact, role=Role.SA_ADMIN, target=sa, smart_account=sa, actor=actor)
    if grant_partner_role and sa.requested_by_id and sa.requested_by_id != sa.contact_id:
        _role_set(user=sa.requested_by, role=grant_partner_role, target=sa, smart_account=sa, actor=actor)
    Invitation.objects.filter(
        smart_account=sa, purpose=InvitationPurpose.ACTIVATE_ACCOUNT, used_at__isnull=True
    ).update(used_at=timezone.now())
    smart_account_activated.send(sender=SmartAccount, smart_account=sa, actor=actor)
    return sa


def _staff_status_change(smart_account: SmartAccount, actor: User | None, frm: str, to: str, action: str) -> SmartAccount:
    if actor is not None and not permissions.can_change_account_status(actor):
        raise PermissionDenied("Only staff can change an account's status.")
    sa = SmartAccount.objects.select_for_update().get(pk=smart_account.pk)
    if sa.status != frm:
        raise ValidationError({"status": f"The account is {sa.status}, not {frm}."})
    sa.status = to
    sa.save(update_fields=["status"])
    event_record(smart_account=sa, action=action, actor=actor, obj=sa)
    return sa


@transaction.atomic
def smart_account_suspend(*, smart_account: SmartAccount, actor: User | None) -> SmartAccount:
    return _staff_status_change(smart_account, actor, SmartAccountStatus.ACTIVE, SmartAccountStatus.SUSPENDED,
                                EventAction.SMART_ACCOUNT_SUSPENDED)


@transaction.atomic
def smart_account_reinstate(*, smart_account: SmartAccount, actor: User | None) -> SmartAccount:
    return _staff_status_change(smart_account, actor, SmartAccountStatus.SUSPENDED, SmartAccountStatus.ACTIVE,
                                EventAction.SMART_ACCOUNT_REINSTATED)


@transaction.atomic
def smart_account_set_default_virtual_account(*, virtual_account: VirtualAccount, actor: User | None) -> SmartAccount:
    sa = virtual_account.smart_account
    _require(actor, ADMINISTER, sa)
    sa.default_virtual_account = virtual_account
    sa.save(update_fields=["default_virtual_account"])
    event_record(smart_account=sa, action=EventAction.SMART_ACCOUNT_DEFAULT_VIRTUAL_ACCOUNT_SET, actor=actor,
                 virtual_account=virtual_account, obj=virtual_account)
    return sa
