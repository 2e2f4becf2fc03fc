"""The one place that decides who may see or do what (DESIGN.md §3).

Two questions, asked by pages, the API, templates and services alike:
- `can(user, capability, obj)`: may this user do this on this object?
- `visible(user, Model, capability=VIEW)`: which objects of this model may they (see | act on)?

Roles are guardian object permissions: SA roles on a SmartAccount apply to all of it;
VA roles on a VirtualAccount apply to its whole subtree (MPTT: same tree_id, lft within
[lft, rght] of the granted node). Every answer is a fixed number of queries.

Two rules on top of the role table:
- Acting (every capability but VIEW) needs a verified email address (DESIGN.md §2); staff are
  exempt. `can` says no and `visible(…, capability)` finds nothing for a user who has not
  verified theirs; `refusal` gives the reason, `require_verified` guards the services that act
  without asking `can` (creating accounts, ordering, …).
- What belongs to a Smart Account as a whole and to none of its Virtual Accounts (a model with
  `account_wide = True`: classic licenses, alert settings) is seen and acted on with an
  account-wide role (SA roles, staff) only; VA roles see their subtrees, not these.
"""
from __future__ import annotations

from enum import Enum

from allauth.account.models import EmailAddress
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.http import Http404
from django.core.exceptions import PermissionDenied, ValidationError

from .models import (
    HoldingMembership,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SupportCaseStatus,
    VirtualAccount,
    VirtualAccountRole,
)
from .permissions_vendor import (  # noqa: F401  (re-exported: callers import them from here)
    POWER_GROUP_NAME,
    POWER_GROUP_PERMISSIONS,
    POWER_PERMISSION,
    Power,
    can_answer_support,
    can_change_account_status,
    can_deposit_order_lines,
    can_manage_catalogue,
    can_manage_partners,
    can_manage_users,
    can_request_account_for_customer,
    can_ship_orders,
    has_power,
    is_partner_user,
    is_staff,
    partner_holding_accounts,
    sees_order_partner,
    sees_partner_pages,
    visible_partners,
)


class Capability(str, Enum):
    VIEW = "view"  # see the account, VAs, licenses, devices, events, reports
    OPERATE = "operate"  # move licenses, create/revoke tokens, move/remove devices
    STRUCTURE = "structure"  # create/rename/move/delete Virtual Accounts
    ADMINISTER = "administer"  # grant/revoke roles, approve access requests, settings, recipients
    HOLD = "hold"  # holding accounts: see orders, move lines out, subscribe to notifications


VIEW, OPERATE, STRUCTURE, ADMINISTER, HOLD = (
    Capability.VIEW, Capability.OPERATE, Capability.STRUCTURE, Capability.ADMINISTER, Capability.HOLD,
)

# Which role grants which capability (the §3 table, columns SA × / VA ×).
SA_ROLES_FOR: dict[Capability, tuple[str, ...]] = {
    VIEW: (Role.SA_ADMIN, Role.SA_USER, Role.SA_VIEWER),
    OPERATE: (Role.SA_ADMIN, Role.SA_USER),
    STRUCTURE: (Role.SA_ADMIN,),
    ADMINISTER: (Role.SA_ADMIN,),
    HOLD: (),
}
VA_ROLES_FOR: dict[Capability, tuple[str, ...]] = {
    VIEW: (Role.VA_ADMIN, Role.VA_USER, Role.VA_VIEWER),
    OPERATE: (Role.VA_ADMIN, Role.VA_USER),
    STRUCTURE: (Role.VA_ADMIN,),
    ADMINISTER: (Role.VA_ADMIN,),
    HOLD: (),
}


def _is_anonymous(user) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def _is_staff(user) -> bool:
    # Vendor staff run the back office and may see and act on every account.
    return user.is_staff


# --- a verified email, to act on accounts ------------------------------------------------

VERIFY_EMAIL_FIRST = "Verify your email address before acting on accounts."


def _verified_email(user) -> Exists:
    return Exists(EmailAddress.objects.filter(user_id=user.pk, email__iexact=user.email, verified=True))


def email_verified_of(user_field: str) -> Exists:
    """For a query that loads a user through `user_field` (the `user` of an API key): whether
    their email is verified, to set `user._email_verified` from the same query."""
    return Exists(EmailAddress.objects.filter(
        user=OuterRef(user_field), email__iexact=OuterRef(f"{user_field}__email"), verified=True
    ))


def is_verified(user) -> bool:
    """Has the user verified their email address? Staff are exempt: the vendor makes their
    users (`createsuperuser` leaves no email address row). The answer is kept on the user
    object (`_email_verified`, also set by the API-key authentication): one query at most."""
    if _is_anonymous(user):
        return False
    if _is_staff(user):
        return True
    known = getattr(user, "_email_verified", None)
    if known is None:
        known = user._email_verified = EmailAddress.objects.filter(
            user_id=user.pk, email__iexact=user.email, verified=True
        ).exists()
    return known


def _acting(user, qs: QuerySet) -> QuerySet:
    """`qs` (the rows granting a right to act) for a verified user, none otherwise. Unless the
    answer is known already, the check rides in the same query (a subquery): no query of its own."""
    if _is_staff(user):
        return qs
    known = getattr(user, "_email_verified", None)
    if known is None:
        return qs.filter(_verified_email(user))
    return qs if known else qs.none()


def require_verified(user) -> None:
    """Raise 403 unless the user may act at all (a verified email, or staff). For the services
    that act without asking `can`; `None` is the system (a command, a task) and passes."""
    if user is not None and not is_verified(user):
        raise PermissionDenied(VERIFY_EMAIL_FIRST)


def refusal(user, message: str) -> PermissionDenied:
    """The 403 to raise when `user` was refused an action: why, when it is their unverified
    email (asked only now, after the refusal), else `message`."""
    unverified = user is not None and not _is_anonymous(user) and not is_verified(user)
    return PermissionDenied(VERIFY_EMAIL_FIRST if unverified else message)


# --- what belongs to the account as a whole -----------------------------------------------

def is_account_wide(model_or_obj) -> bool:
    """Rows about a Smart Account as a whole, in none of its Virtual Accounts (its classic
    licenses, its alert settings): the model says so with `account_wide = True`."""
    return bool(getattr(model_or_obj, "account_wide", False))


# --- querysets ------------------------------------------------------------------------

def _sa_role_accounts(user, capability: Capability) -> QuerySet:
    return SmartAccountRole.objects.filter(
        user=user, permission__codename__in=SA_ROLES_FOR[capability]
    ).values("content_object_id")


def _va_roles(user, capability: Capability) -> QuerySet[VirtualAccountRole]:
    return VirtualAccountRole.objects.filter(user=user, permission__codename__in=VA_ROLES_FOR[capability])


def _holding_accounts(user) -> Q:
    """Holding accounts the user joined, or whose partner the user administers."""
    member = HoldingMembership.objects.filter(user=user, smart_account=OuterRef("pk"))
    partner_admin = PartnerMembership.objects.filter(user=user, is_admin=True, partner=OuterRef("partner"))
    return Q(kind=SmartAccountKind.HOLDING) & (Q(Exists(member)) | Q(Exists(partner_admin)))


def visible_virtual_accounts(user, capability: Capability = VIEW, *, strictly_below: bool = False) -> QuerySet:
    """Virtual Accounts on which `user` has `capability` (subtree inheritance).

    `strictly_below`: a VA role counts only for the nodes below the granted one (how a VA
    admin's STRUCTURE right works on rename/move/delete: below its VA, not the VA itself).
    """
    qs = VirtualAccount.objects.all()
    if _is_anonymous(user):
        return qs.none()
    if _is_staff(user):
        return qs
    if capability != VIEW:
        qs = _acting(user, qs)
    if capability == HOLD:
        return qs.filter(smart_account__in=SmartAccount.objects.filter(_holding_accounts(user)))
    lft_lookup = "content_object__lft__lt" if strictly_below else "content_object__lft__lte"
    rght_lookup = "content_object__rght__gt" if strictly_below else "content_object__rght__gte"
    ancestor = _va_roles(user, capability).filter(
        **{"content_object__tree_id": OuterRef("tree_id"), lft_lookup: OuterRef("lft"), rght_lookup: OuterRef("rght")}
    )
    return qs.filter(Q(smart_account__in=_sa_role_accounts(user, capability)) | Q(Exists(ancestor)))


def _smart_accounts(user, capability: Capability, *, through_va_roles: bool) -> QuerySet:
    qs = SmartAccount.objects.all()
    if _is_anonymous(user):
        return qs.none()
    if _is_staff(user):
        return qs
    if capability != VIEW:
        qs = _acting(user, qs)
    if capability == HOLD:
        return qs.filter(_holding_accounts(user))
    cond = Q(pk__in=_sa_role_accounts(user, capability))
    if through_va_roles:
        cond |= Q(Exists(_va_roles(user, capability).filter(content_object__smart_account=OuterRef("pk"))))
    if capability == VIEW:
        cond |= _holding_accounts(user)
    return qs.filter(cond)


def visible_smart_accounts(user, capability: Capability = VIEW) -> QuerySet:
    """Smart Accounts the user may see (any role in it, or holding-account membership)."""
    return _smart_accounts(user, capability, through_va_roles=True)


def _whole_accounts(user, capability: Capability) -> QuerySet:
    """Smart Accounts on which `user` has `capability` account-wide (as `can` decides)."""
    return _smart_accounts(user, capability, through_va_roles=False)


def account_wide_smart_accounts(user, capability: Capability = VIEW) -> QuerySet:
    """Smart Accounts whose account-wide rows (events of no Virtual Account, classic licenses,
    settings) the user may see (or act on with `capability`): staff and SA roles (and a holding
    account's own rows for its members), not VA roles."""
    return _whole_accounts(user, capability)


def visible(user, model: type[Model], capability: Capability = VIEW) -> QuerySet:
    """Objects of `model` that `user` may see (or act on with `capability`).

    Models that live in a Virtual Account (entitlements, devices, tokens, …) are found by
    their `virtual_account` field; models of a Smart Account by their `smart_account` field.
    """
    if model is SmartAccount:
        return visible_smart_accounts(user, capability)
    if model is VirtualAccount:
        return visible_virtual_accounts(user, capability)
    if is_account_wide(model):
        return model.objects.filter(smart_account__in=_whole_accounts(user, capability))
    field_names = {f.name for f in model._meta.get_fields()}
    if "virtual_account" in field_names:
        in_visible_va = Q(virtual_account__in=visible_virtual_accounts(user, capability))
        if "smart_account" in field_names and model._meta.get_field("virtual_account").null:
            # Rows about the account as a whole (no Virtual Account, e.g. role events) go
            # with an account-wide right; VA roles see only their subtree's rows.
            in_visible_va |= Q(virtual_account__isnull=True, smart_account__in=_whole_accounts(user, capability))
        return model.objects.filter(in_visible_va)
    if "smart_account" in field_names:
        return model.objects.filter(smart_account__in=visible_smart_accounts(user, capability))
    raise TypeError(f"permissions.visible does not know how to scope {model.__name__}")


def navigation_virtual_accounts(user, smart_account: SmartAccount) -> QuerySet:
    """What a user sees of a tree: the VAs they may view plus the path above them (names only)."""
    qs = VirtualAccount.objects.filter(smart_account=smart_account)
    if _is_anonymous(user):
        return qs.none()
    if _is_staff(user) or SmartAccountRole.objects.filter(user=user, content_object=smart_account).exists():
        return qs
    granted = _va_roles(user, VIEW).filter(content_object__smart_account=smart_account)
    below = granted.filter(
        content_object__tree_id=OuterRef("tree_id"), content_object__lft__lte=OuterRef("lft"),
        content_object__rght__gte=OuterRef("rght"),
    )
    above = granted.filter(
        content_object__tree_id=OuterRef("tree_id"), content_object__lft__gte=OuterRef("lft"),
        content_object__rght__lte=OuterRef("rght"),
    )
    return qs.filter(Q(Exists(below)) | Q(Exists(above)))


# --- single decisions ------------------------------------------------------------------

def can(user, capability: Capability, obj) -> bool:
    """May `user` do `capability` on `obj` (a SmartAccount, a VirtualAccount, or anything
    with a `virtual_account` or `smart_account`)? One query at most."""
    if _is_anonymous(user):
        return False
    if isinstance(obj, SmartAccount):
        if _is_staff(user):
            return True
        if capability == HOLD:
            return obj.is_holding and visible_smart_accounts(user, HOLD).filter(pk=obj.pk).exists()
        if capability == VIEW:
            return visible_smart_accounts(user, VIEW).filter(pk=obj.pk).exists()
        # Acting on the account as a whole (settings, SA-level roles) needs an SA role.
        return _acting(user, SmartAccountRole.objects.filter(
            user=user, content_object=obj, permission__codename__in=SA_ROLES_FOR[capability]
        )).exists()
    if isinstance(obj, VirtualAccount):
        return visible_virtual_accounts(user, capability).filter(pk=obj.pk).exists()
    va = getattr(obj, "virtual_account", None)
    if va is not None:
        return can(user, capability, va)
    sa = getattr(obj, "smart_account", None)
    if sa is not None and (hasattr(obj, "virtual_account") or is_account_wide(obj)):
        # In no Virtual Account: about the account as a whole (as `visible` scopes it).
        return _whole_accounts(user, capability).filter(pk=sa.pk).exists()
    if sa is not None:
        return can(user, capability, sa)
    raise TypeError(f"permissions.can does not know how to decide on {type(obj).__name__}")


def sees_whole_account(user, smart_account: SmartAccount, capability: Capability = VIEW) -> bool:
    """Does `visible(user, M, capability)` hold every row of this account (staff, or an SA role
    granting `capability`)? Then a read of the account may skip the per-row check, which costs
    more than the read itself on a big log. VA roles see their subtrees only, and a holding
    account's members its account-wide rows only: False for them. At most one query."""
    if _is_anonymous(user):
        return False
    if _is_staff(user):
        return True
    roles = SmartAccountRole.objects.filter(
        user=user, content_object=smart_account, permission__codename__in=SA_ROLES_FOR[capability]
    )
    return (roles if capability == VIEW else _acting(user, roles)).exists()


def sees_account_wide_data(user, smart_account: SmartAccount) -> bool:
    """May the user see this account's account-wide rows (classic licenses; alert settings need
    ADMINISTER besides)? Staff and SA roles; a VA role's holder sees the account, not these.
    At most one query."""
    if _is_anonymous(user):
        return False
    return _whole_accounts(user, VIEW).filter(pk=smart_account.pk).exists()


def can_restructure(user, virtual_account: VirtualAccount) -> bool:
    """Rename/move/delete a VA: SA admins anywhere; VA admins only strictly below their VA.
    Never the root DEFAULT (DESIGN.md §2: every account keeps it)."""
    if virtual_account.parent_id is None:
        return False
    return visible_virtual_accounts(user, STRUCTURE, strictly_below=True).filter(pk=virtual_account.pk).exists() or (
        can(user, STRUCTURE, virtual_account.smart_account)
    )


def can_manage_role(user, *, smart_account: SmartAccount, role: str, virtual_account: VirtualAccount | None) -> bool:
    """Grant/revoke: SA roles need SA admin; VA roles need admin over that VA's subtree."""
    if role in (Role.SA_ADMIN, Role.SA_USER, Role.SA_VIEWER):
        return can(user, ADMINISTER, smart_account)
    return virtual_account is not None and can(user, ADMINISTER, virtual_account)


def roles_of(user, smart_account: SmartAccount) -> list[tuple[str, VirtualAccount | None]]:
    """The user's roles in one account: [(role, virtual_account or None)], two queries. When
    they hold any, whether their email is verified is learnt on the way (kept on the user)."""
    if _is_anonymous(user):
        return []
    learn = not _is_staff(user) and getattr(user, "_email_verified", None) is None
    sa_qs = SmartAccountRole.objects.filter(user=user, content_object=smart_account).select_related("permission")
    va_qs = VirtualAccountRole.objects.filter(user=user, content_object__smart_account=smart_account).select_related(
        "permission", "content_object")
    if learn:
        sa_qs, va_qs = (qs.annotate(email_verified=_verified_email(user)) for qs in (sa_qs, va_qs))
    rows = [*sa_qs, *va_qs]
    if learn and rows:
        user._email_verified = rows[0].email_verified
    return [(r.permission.codename, r.content_object if isinstance(r, VirtualAccountRole) else None) for r in rows]


class TreeRights:
    """One user's roles in one account, to decide for many of its Virtual Accounts at once (a
    tree page asks for every node it shows): the answers of `can` and `visible_virtual_accounts`
    for the roles' capabilities (not HOLD), from the two queries of `roles_of`, then in memory."""

    def __init__(self, user, smart_account: SmartAccount):
        self.user = user
        self.smart_account = smart_account
        self.roles = roles_of(user, smart_account)  # [(role, Virtual Account or None)]
        self._staff = not _is_anonymous(user) and _is_staff(user)
        self._account_roles = {role for role, va in self.roles if va is None}

    def whole_account(self, capability: Capability) -> bool:
        """`capability` on the account as a whole and everywhere in it: staff, or an SA role."""
        if capability == HOLD:
            raise ValueError("HOLD comes from holding-account membership, not from roles.")
        granted = self._staff or not self._account_roles.isdisjoint(SA_ROLES_FOR[capability])
        return granted and self._may(capability)

    def _may(self, capability: Capability) -> bool:
        # Acting needs a verified email: known from `roles_of` when a role grants it (no query).
        return capability == VIEW or is_verified(self.user)

    def subtrees(self, capability: Capability) -> list[VirtualAccount] | None:
        """Where `capability` holds: None for the whole account, else the Virtual Accounts of
        the VA roles that grant it, each with its subtree (maybe none)."""
        if self.whole_account(capability):
            return None
        granted = [va for role, va in self.roles if va is not None and role in VA_ROLES_FOR[capability]]
        return granted if granted and self._may(capability) else []

    def can(self, capability: Capability, virtual_account: VirtualAccount, *, strictly_below: bool = False) -> bool:
        """As `visible_virtual_accounts(user, capability, strictly_below=…)` contains the VA."""
        subtrees = self.subtrees(capability)
        if subtrees is None:
            return True
        va = virtual_account
        if strictly_below:
            return any(top.tree_id == va.tree_id and top.lft < va.lft and top.rght > va.rght for top in subtrees)
        return any(top.tree_id == va.tree_id and top.lft <= va.lft and top.rght >= va.rght for top in subtrees)


# --- for views: get or 404/403 ----------------------------------------------------------

def get_or_404(user, queryset: QuerySet, capability: Capability = VIEW, **lookup):
    """The object if the user may see it (404 otherwise, no existence leak); then 403 if the
    user may see it but not do `capability` on it."""
    model = queryset.model
    try:
        # Filter the caller's queryset (keeping its select_related) by what the user may see.
        obj = queryset.filter(**lookup).filter(pk__in=visible(user, model, VIEW).values("pk")).get()
    except (model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404(f"No {model._meta.verbose_name} found.")
    if capability != VIEW and not can(user, capability, obj):
        raise refusal(user, f"You may not {capability.value} this {model._meta.verbose_name}.")
    return obj


def get_account_wide_or_404(user, queryset: QuerySet, **lookup) -> SmartAccount:
    """The Smart Account if the user sees its account-wide rows (one query); else 404 if they
    may not see it at all, 403 if they see it through VA roles only."""
    try:
        return queryset.filter(**lookup).filter(pk__in=_whole_accounts(user, VIEW).values("pk")).get()
    except (SmartAccount.DoesNotExist, ValueError, TypeError, ValidationError):
        pass
    get_or_404(user, queryset, VIEW, **lookup)
    raise PermissionDenied("This belongs to the account as a whole: it needs a role on the whole Smart Account.")


def require(user, capability: Capability, obj, message: str | None = None) -> None:
    """Raise 403 unless the user may do it (call after the object was found visible)."""
    if not can(user, capability, obj):
        raise refusal(user, message or f"You may not {capability.value} this {obj._meta.verbose_name}.")


# --- partner pages, back office: rights on a partner or an account's status ---------------
# Services keep `actor=None` meaning the system (a command, a task): they skip these checks
# for None themselves; for a user, every decision below is the only place it is made. Who is
# staff, and the vendor powers (shipping, the catalogue, …), are in permissions_vendor.

def can_manage_partner(user, partner) -> bool:
    """Add/remove a partner's members, make them admins, manage other members' holding-account
    memberships: the partner's admins (and partner staff). One query (two for staff)."""
    if _is_anonymous(user):
        return False
    if can_manage_partners(user):
        return True
    return _acting(user, PartnerMembership.objects.filter(user=user, partner=partner, is_admin=True)).exists()


def can_activate(user, smart_account: SmartAccount) -> bool:
    """Activate a new Smart Account: its named contact (verified), or account staff. Two queries at most."""
    if _is_anonymous(user):
        return False
    if smart_account.contact_id is not None and user.pk == smart_account.contact_id and is_verified(user):
        return True
    return can_change_account_status(user)


def can_set_support_case_status(user, case, status: str) -> bool:
    """Change a support case's status: support staff to any status; the case's own user only to
    resolved (closing their own case). No query for the case's user."""
    if _is_anonymous(user):
        return False
    return (user.pk == case.user_id and status == SupportCaseStatus.RESOLVED) or can_answer_support(user)


def reachable_holding_accounts(user, own: QuerySet | None = None) -> QuerySet:
    """Holding accounts a user may reach by id: staff every one (the back office); anyone else
    `own` (by default their partner's, `partner_holding_accounts`) and those they are a member
    of. What they may do there is asked apart (HOLD, `can_manage_partner`)."""
    qs = SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING)
    if is_staff(user):
        return qs
    own = partner_holding_accounts(user) if own is None else own
    return qs.filter(Q(pk__in=own.values("pk")) | Q(pk__in=visible_smart_accounts(user, HOLD).values("pk")))
