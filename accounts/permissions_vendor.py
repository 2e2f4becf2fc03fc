"""Vendor powers: what vendor staff may do in the back office (issue 21, finding 7).

`is_staff` only lets a user see the back office (every account, order and partner; the admin's
door). Each power that changes something needs its Django model permission besides, as the
Django admin does, so a staff member given no permission can do nothing there or in the API:
the admin's Groups (`seed_demo` makes one per power) decide who does what. Superusers hold every
permission, so every power. Existing model permissions decide: no migration.

Here too: who is a partner user, for the partner-or-staff predicates. Callers import these
names from `accounts.permissions`, which re-exports them.
"""
from __future__ import annotations

from enum import Enum

from django.db.models import QuerySet

from .models import Partner, PartnerKind, PartnerMembership, SmartAccount, SmartAccountKind


class Power(str, Enum):
    CATALOGUE = "catalogue"  # add or change products
    PARTNERS = "partners"  # create partners, manage any partner's members and holding accounts
    FULFILMENT = "fulfilment"  # ship orders
    SUPPORT = "support"  # read and answer every user's support cases, set their status
    ACCOUNTS = "accounts"  # activate, suspend and reinstate customer Smart Accounts
    USERS = "users"  # register users; revoke their API keys, turn off their MFA, close their accounts


# The one permission that decides each power (`app_label.codename`).
POWER_PERMISSION: dict[Power, str] = {
    Power.CATALOGUE: "licensing.change_product",
    Power.PARTNERS: "accounts.change_partner",
    Power.FULFILMENT: "orders.change_order",
    Power.SUPPORT: "accounts.change_supportcase",
    Power.ACCOUNTS: "accounts.change_smartaccount",
    Power.USERS: "accounts.change_user",
}

# What a group for each power holds (`seed_demo`): the deciding permission, plus what the admin
# pages of the same models need to show them.
POWER_GROUP_PERMISSIONS: dict[Power, tuple[str, ...]] = {
    Power.CATALOGUE: ("licensing.view_product", "licensing.add_product", "licensing.change_product"),
    Power.PARTNERS: ("accounts.view_partner", "accounts.add_partner", "accounts.change_partner"),
    Power.FULFILMENT: ("orders.view_order", "orders.change_order"),
    Power.SUPPORT: ("accounts.view_supportcase", "accounts.change_supportcase"),
    Power.ACCOUNTS: ("accounts.view_smartaccount", "accounts.change_smartaccount"),
    Power.USERS: ("accounts.view_user", "accounts.add_user", "accounts.change_user"),
}

# The name of each power's group (`seed_demo`, the README's demo logins).
POWER_GROUP_NAME: dict[Power, str] = {power: f"Vendor {power.value}" for power in Power}


def _is_anonymous(user) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def is_staff(user) -> bool:
    """Vendor staff, who see the back office: a signed-in, active user with `is_staff`. No query."""
    return not _is_anonymous(user) and user.is_staff


def has_power(user, power: Power) -> bool:
    """Active staff holding the power's permission (superusers hold all). Two queries at most
    (the user's and their groups' permissions), then cached on the user object."""
    return is_staff(user) and user.has_perm(POWER_PERMISSION[power])


def can_ship_orders(user) -> bool:
    """Ship orders (provision their lines): fulfilment staff."""
    return has_power(user, Power.FULFILMENT)


def can_manage_catalogue(user) -> bool:
    """Add or change products in the catalogue: catalogue staff."""
    return has_power(user, Power.CATALOGUE)


def can_manage_partners(user) -> bool:
    """Create partners; manage any partner's members and holding accounts: partner staff."""
    return has_power(user, Power.PARTNERS)


def can_answer_support(user) -> bool:
    """Read and answer every user's support cases, and set any case's status: support staff."""
    return has_power(user, Power.SUPPORT)


def can_change_account_status(user) -> bool:
    """Suspend or reinstate a Smart Account (and activate one for its contact): account staff."""
    return has_power(user, Power.ACCOUNTS)


def can_manage_users(user) -> bool:
    """Register users; revoke another user's API keys, turn off their second factor, close their
    account (the back office): user staff."""
    return has_power(user, Power.USERS)


# --- who is who: partner users (no capability, no object tree) ------------------------------
# Partner-or-staff decisions: the same people today, named apart because the rules may part.

def is_partner_user(user) -> bool:
    """A member of a partner organisation (a PartnerMembership exists). At most one query
    (none when `partner_membership` is already loaded)."""
    if user is None or not user.is_authenticated:
        return False
    try:
        return user.partner_membership is not None
    except PartnerMembership.DoesNotExist:
        return False


def sees_order_partner(user, partner) -> bool:
    """Whose order it is (the ordering partner) is shown to staff, and to a distributor's users
    (its resellers' orders are listed too). `partner` is the user's own partner or None. No query."""
    return is_staff(user) or (partner is not None and partner.kind == PartnerKind.DISTRIBUTOR)


def sees_partner_pages(user) -> bool:
    """The Partner menu (the partner pages; staff find partners there or in the admin). At most one query."""
    return is_staff(user) or is_partner_user(user)


def can_request_account_for_customer(user) -> bool:
    """Request a Smart Account on a customer's behalf: partner users and staff. At most one query."""
    return is_partner_user(user) or is_staff(user)


def can_deposit_order_lines(user) -> bool:
    """Pick customer accounts to deposit order lines into (search them, move held lines there):
    partner users and staff. By design they need no role there, and see only names, domains and
    Virtual Account names. At most one query."""
    return is_staff(user) or is_partner_user(user)


def visible_partners(user) -> QuerySet[Partner]:
    """Partners a user finds: staff every one (the back office); a partner's members their own."""
    if is_staff(user):
        return Partner.objects.all()
    if _is_anonymous(user):
        return Partner.objects.none()
    return Partner.objects.filter(memberships__user=user)


def partner_holding_accounts(user) -> QuerySet:
    """Holding accounts a user finds on the partner pages: every holding account of their own
    partner (members see them to join them; HOLD rights still need the membership)."""
    qs = SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING)
    if _is_anonymous(user):
        return qs.none()
    return qs.filter(partner__memberships__user=user)
