"""Reads of accounts data for pages and the API."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from . import permissions
from .models import (
    AccessRequest,
    ApiKey,
    Event,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SupportCase,
    SupportMessage,
    User,
    VirtualAccount,
    VirtualAccountRole,
)


def smart_accounts_for_switcher(*, user) -> QuerySet[SmartAccount]:
    return permissions.visible(user, SmartAccount).only("id", "name", "kind", "domain").order_by("name")[:50]


def virtual_accounts_named_like(virtual_accounts: QuerySet[VirtualAccount], query: str, *, limit: int) -> list[VirtualAccount]:
    """Of these Virtual Accounts (narrowed to what the user may see by the caller), those whose
    name contains `query` in any case (all for an empty query), in tree order, with their parent
    (two of one name tell apart by it): at most `limit`. One query."""
    query = query.strip()
    found = virtual_accounts.filter(name__icontains=query) if query else virtual_accounts
    return list(found.select_related("parent").order_by("tree_id", "lft")[:limit])


# --- "this user found this account by a search" ----------------------------------------------

SEARCH_REFERENCE_SALT = "accounts.search.reference"
SEARCH_REFERENCE_MAX_AGE = 24 * 3600  # seconds: a search result is followed today


def search_reference(*, smart_account: SmartAccount, user: User) -> str:
    """What a search result carries instead of the account's id (the request-access link, the
    account choice of an order line or a move): signed for this account and this searcher, so
    that what follows a search cannot be reached by trying ids."""
    return signing.dumps({"sa": smart_account.pk, "user": user.pk}, salt=SEARCH_REFERENCE_SALT)


def account_id_from_search_reference(*, reference: str, user: User) -> int | None:
    """The id of the account a reference from `user`'s own search names, without a query; None
    when it is altered, expired or made for someone else."""
    try:
        data = signing.loads(str(reference or ""), salt=SEARCH_REFERENCE_SALT, max_age=SEARCH_REFERENCE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("user") != user.pk or type(data.get("sa")) is not int:
        return None
    return data["sa"]


def account_from_search_reference(*, reference: str, user: User) -> SmartAccount | None:
    """The customer account a reference from `user`'s own search names (None as above, or when
    it names no customer account)."""
    pk = account_id_from_search_reference(reference=reference, user=user)
    if pk is None:
        return None
    return SmartAccount.objects.filter(pk=pk, kind=SmartAccountKind.CUSTOMER).first()


# --- emailed links (signed invitations) ----------------------------------------------------

INVITATION_LINK_SALT = "accounts.invitation"  # services.invitation_token signs with it
INVITATION_LINK_INVALID = "This link is invalid or has expired."
# What an invitation of each purpose must name to be acted on.
_INVITATION_NAMES = {
    InvitationPurpose.ACTIVATE_ACCOUNT: Q(smart_account__isnull=False),
    InvitationPurpose.ASSIGN_ORDER_LINE: ~Q(object_key=""),
    InvitationPurpose.JOIN_PARTNER: Q(partner__isnull=False),
}


def invitation_from_link(*, token: str, purpose: str | None, user: User | None = None) -> Invitation:
    """The invitation an emailed link's signed token names, if it is of `purpose` (None: of any,
    for the landing page that sends each on to its own page), unexpired, unused and, given a
    `user`, addressed to them. Every page and endpoint that takes a link asks here first.

    A link of another purpose is unknown here: it fails as an invalid one does, before its use or
    its addressee is looked at, so that it tells nothing about the invitation it is."""
    try:
        key = signing.loads(str(token or ""), salt=INVITATION_LINK_SALT,
                            max_age=timedelta(days=settings.INVITATION_MAX_AGE_DAYS))
    except signing.BadSignature:
        raise ValidationError(INVITATION_LINK_INVALID)
    invitations = Invitation.objects.filter(key=key)
    if purpose is not None:
        invitations = invitations.filter(_INVITATION_NAMES[purpose], purpose=purpose)
    invitation = invitations.select_related("smart_account", "partner").first()
    if invitation is None or invitation.expires_at < timezone.now():
        raise ValidationError(INVITATION_LINK_INVALID)
    if invitation.used_at is not None:
        raise ValidationError("This link has already been used.")
    if user is not None and user.email.lower() != invitation.email:
        raise PermissionDenied(f"This link is for {invitation.email}; sign in with that address.")
    return invitation


# --- partner pages, privacy and support (issue 3) ------------------------------------------


@dataclass(frozen=True)
class ManagedRole:
    """One role a partner's user holds in a customer's Smart Account ("customers I manage")."""

    id: object
    smart_account: SmartAccount
    virtual_account: VirtualAccount | None
    user: User
    role: str
    role_label: str
    granted_by: User | None
    granted_at: datetime

    @property
    def scope(self) -> str:
        return self.virtual_account.name if self.virtual_account else "Whole account"


def partner_customer_roles(*, partner: Partner) -> list[ManagedRole]:
    """Every SA and VA role that the partner's members were granted in customer Smart Accounts
    while they were members (a role from before they joined is theirs, not the partner's), by
    account, then scope, then user. Two queries, whatever the number of roles."""
    during_membership = {
        "user__partner_membership__partner": partner,
        "granted_at__gte": F("user__partner_membership__created_at"),
    }
    sa_rows = SmartAccountRole.objects.filter(
        **during_membership, content_object__kind=SmartAccountKind.CUSTOMER
    ).select_related("user", "permission", "granted_by", "content_object")
    va_rows = VirtualAccountRole.objects.filter(
        **during_membership, content_object__smart_account__kind=SmartAccountKind.CUSTOMER
    ).select_related("user", "permission", "granted_by", "content_object__smart_account")
    rows = [
        ManagedRole(r.pk, r.content_object, None, r.user, r.permission.codename, r.permission.name, r.granted_by, r.granted_at)
        for r in sa_rows
    ] + [
        ManagedRole(r.pk, r.content_object.smart_account, r.content_object, r.user, r.permission.codename,
                    r.permission.name, r.granted_by, r.granted_at)
        for r in va_rows
    ]
    rows.sort(key=lambda r: (
        r.smart_account.name.lower(), r.smart_account.pk,
        (r.virtual_account.tree_id, r.virtual_account.lft) if r.virtual_account else (0, 0), r.user.email,
    ))
    return rows


def support_cases_of(*, user: User) -> QuerySet[SupportCase]:
    """A user's own support cases (nobody else's, staff included: staff answer in the admin)."""
    return (
        SupportCase.objects.filter(user=user)
        .select_related("smart_account")
        .annotate(message_count=Count("messages"))
        .order_by("-updated_at", "-pk")
    )


EVENTS_IN_EXPORT = 1000
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _redact(value, own_email: str):
    """Another person's email address is their data, not the exporter's: replace it."""
    if isinstance(value, str):
        return _EMAIL.sub(lambda m: m.group(0) if m.group(0).lower() == own_email else "[another user]", value)
    if isinstance(value, dict):
        return {key: _redact(item, own_email) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact(item, own_email) for item in value]
    return value


def _who(person_id: int | None, user: User) -> str:
    if person_id is None:
        return "system"
    return "you" if person_id == user.pk else "another user"


def _account(sa: SmartAccount | None) -> dict | None:
    if sa is None:
        return None
    return {"id": sa.pk, "name": sa.name, "domain": sa.domain, "kind": sa.kind}


def user_personal_data(user: User) -> dict:
    """Everything the portal keeps about `user`, as JSON-ready data ("download my data").

    Other people appear only as "you", "another user", "support" or "system": their email
    addresses are their data, not the exporter's. A fixed number of queries."""
    own_email = user.email.lower()
    membership = PartnerMembership.objects.filter(user=user).select_related("partner").first()
    sa_roles = SmartAccountRole.objects.filter(user=user).select_related("permission", "content_object")
    va_roles = VirtualAccountRole.objects.filter(user=user).select_related("permission", "content_object__smart_account")
    holdings = HoldingMembership.objects.filter(user=user).select_related("smart_account__partner")
    requests = (
        AccessRequest.objects.filter(requester=user).select_related("smart_account")
        .prefetch_related("requested_virtual_accounts").order_by("-created_at")
    )
    cases = (
        SupportCase.objects.filter(user=user).select_related("smart_account")
        .prefetch_related(Prefetch("messages", queryset=SupportMessage.objects.order_by("created_at", "pk")))
        .order_by("-created_at")
    )
    events = (
        Event.objects.filter(actor=user).select_related("smart_account", "virtual_account")
        .order_by("-created_at", "-pk")[:EVENTS_IN_EXPORT]
    )
    return {
        "generated_at": _iso(timezone.now()),
        "profile": {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "date_joined": _iso(user.date_joined),
            "last_login": _iso(user.last_login),
            "is_staff": user.is_staff,
            "email_addresses": [
                {"email": e.email, "verified": e.verified, "primary": e.primary} for e in user.emailaddress_set.all()
            ],
        },
        "partner_membership": None if membership is None else {
            "partner": membership.partner.name,
            "kind": membership.partner.kind,
            "is_admin": membership.is_admin,
            "since": _iso(membership.created_at),
        },
        "roles": [
            {"role": r.permission.codename, "role_label": r.permission.name, "smart_account": _account(r.content_object),
             "scope": "account", "virtual_account": None, "granted_by": _who(r.granted_by_id, user),
             "granted_at": _iso(r.granted_at)}
            for r in sa_roles
        ] + [
            {"role": r.permission.codename, "role_label": r.permission.name,
             "smart_account": _account(r.content_object.smart_account), "scope": "virtual_account",
             "virtual_account": {"id": r.content_object.pk, "name": r.content_object.name},
             "granted_by": _who(r.granted_by_id, user), "granted_at": _iso(r.granted_at)}
            for r in va_roles
        ],
        "holding_memberships": [
            {"smart_account": _account(h.smart_account), "partner": h.smart_account.partner.name,
             "notify": h.notify, "since": _iso(h.created_at)}
            for h in holdings
        ],
        "access_requests": [
            {"smart_account": _account(r.smart_account), "status": r.status, "message": r.message,
             "scope_wanted": r.scope_wanted, "requested_virtual_accounts": [va.name for va in r.requested_virtual_accounts.all()],
             "granted_role": r.granted_role, "reason": _redact(r.reason, own_email),
             "created_at": _iso(r.created_at), "decided_at": _iso(r.decided_at)}
            for r in requests
        ],
        "support_cases": [
            {"id": c.pk, "subject": c.subject, "status": c.status, "smart_account": _account(c.smart_account),
             "order_number": c.order_number, "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
             "messages": [
                 {"from": "support" if m.from_staff else "you", "body": _redact(m.body, own_email) if m.from_staff else m.body,
                  "created_at": _iso(m.created_at)}
                 for m in c.messages.all()
             ]}
            for c in cases
        ],
        "events": [
            {"time": _iso(e.created_at), "smart_account": {"id": e.smart_account_id, "name": e.smart_account.name},
             "virtual_account": e.virtual_account.name if e.virtual_account else None, "action": e.action,
             "object_type": e.object_type, "object": _redact(e.object_repr, own_email),
             "detail": _redact(e.detail, own_email)}
            for e in events
        ],
        "api_keys": [
            {"name": k.name, "prefix": k.prefix, "created_at": _iso(k.created_at), "last_used_at": _iso(k.last_used_at),
             "revoked_at": _iso(k.revoked_at)}
            for k in ApiKey.objects.filter(user=user).order_by("-created_at")
        ],
    }


def sole_partner_admin_of(*, user: User) -> Partner | None:
    """The partner of which `user` is the only admin (closing their account is refused until
    they make another member admin), or None."""
    membership = PartnerMembership.objects.filter(user=user, is_admin=True).select_related("partner").first()
    if membership is None or PartnerMembership.objects.filter(
        partner_id=membership.partner_id, is_admin=True
    ).exclude(pk=membership.pk).exists():
        return None
    return membership.partner


def sole_admin_accounts(*, user: User) -> QuerySet[SmartAccount]:
    """Customer accounts in which `user` is the only Smart Account admin (closing their portal
    account would leave these without anyone able to grant roles)."""
    admins = (
        SmartAccountRole.objects.filter(content_object=OuterRef("pk"), permission__codename=Role.SA_ADMIN)
        .values("content_object").annotate(n=Count("pk")).values("n")
    )
    mine = SmartAccountRole.objects.filter(user=user, permission__codename=Role.SA_ADMIN).values("content_object_id")
    return SmartAccount.objects.filter(pk__in=mine).annotate(admin_count=Subquery(admins)).filter(admin_count=1).order_by("name")


def sa_admin_emails(accounts) -> list[str]:
    """The email addresses of the active SA admins of a Smart Account (or of several: one
    iterable), sorted and each once: who is told about an account (access requests, order
    lines, alerts). One query."""
    if isinstance(accounts, SmartAccount):
        accounts = [accounts]
    ids = [sa.pk if isinstance(sa, SmartAccount) else sa for sa in accounts]
    return sorted(set(
        User.objects.filter(
            is_active=True, smartaccountrole__content_object_id__in=ids,
            smartaccountrole__permission__codename=Role.SA_ADMIN,
        ).values_list("email", flat=True)
    ))


def partner_of(user: User) -> Partner | None:
    membership = getattr(user, "partner_membership", None) if user.is_authenticated else None
    return membership.partner if membership else None


def user_is_verified(user: User) -> bool:
    return permissions.is_verified(user)  # the rule lives in accounts.permissions


def role_get(role_id) -> SmartAccountRole | VirtualAccountRole | None:
    for model in (SmartAccountRole, VirtualAccountRole):
        try:
            row = model.objects.select_related("permission", "user", "content_object").filter(pk=role_id).first()
        except (ValidationError, ValueError):
            return None
        if row is not None:
            return row
    return None
