"""Reads of the orders app: which orders and lines a user may see, the lines waiting in a
partner's holding accounts or for an end customer's choice, and the lines due for shipping."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from accounts.models import (
    Event,
    Invitation,
    Partner,
    PartnerKind,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    email_domain,
    normalise_domain,
)
from accounts.permissions import HOLD, visible_smart_accounts
from lib.dates import months_elapsed
from lib.ids import id_from_text

from .models import Order, OrderLine, OrderLineState
from .permissions import visible_orders

# What a line shows (product, where it goes, where it was held), fetched with it.
LINE_RELATED = ("product", "smart_account", "virtual_account", "held_in")


def holding_stale_days() -> int:
    """Lines held longer than this are highlighted in the inbox (setting HOLDING_STALE_DAYS)."""
    return int(getattr(settings, "HOLDING_STALE_DAYS", 30))


@dataclass
class HeldLineAge:
    """How long a held line has waited (and whether that is stale), and how much of its
    subscription has run: whole months used of the term, and the percentage of its days."""

    line: OrderLine
    age_days: int
    stale: bool
    months_used: int | None = None
    term_months: int | None = None
    percent_used: int = 0
    ended: bool = False


def held_line_age(line: OrderLine, today: datetime.date, stale_days: int | None = None) -> HeldLineAge:
    """A held line's age in days (stale past `stale_days`, default `holding_stale_days()`) and
    its subscription's use on `today` (when it has a start and an end). No query."""
    if stale_days is None:
        stale_days = holding_stale_days()
    age = (today - line.shipped_on).days if line.shipped_on else 0
    row = HeldLineAge(line=line, age_days=age, stale=age > stale_days)
    if line.starts_on and line.ends_on:
        row.term_months = line.product.term_months or months_elapsed(line.starts_on, line.ends_on)
        row.months_used = min(months_elapsed(line.starts_on, today), row.term_months)
        total = max((line.ends_on - line.starts_on).days, 1)
        row.percent_used = max(0, min(100, round(100 * (today - line.starts_on).days / total)))
        row.ended = today >= line.ends_on
    return row


def _is_anonymous(user) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def orders_visible_to(user) -> QuerySet[Order]:
    """The orders `permissions.visible_orders` lets the user see, with what every order page and
    answer shows (parties, lines): two queries for any number of orders."""
    lines = Prefetch("lines", queryset=OrderLine.objects.select_related(*LINE_RELATED).order_by("number"))
    return visible_orders(user).select_related("partner", "reseller", "placed_by").prefetch_related(lines)


def order_lines_visible_to(user) -> QuerySet[OrderLine]:
    """The lines of the orders the user may see (for line lists and filters)."""
    return (
        OrderLine.objects.filter(order__in=orders_visible_to(user).values("pk"))
        .select_related("order", "order__partner", *LINE_RELATED)
        .order_by("-order__placed_at", "order_id", "number")
    )


def held_lines_for(user, *, holding_account=None) -> QuerySet[OrderLine]:
    """Lines waiting in the holding accounts the user may move lines out of (optionally one)."""
    if _is_anonymous(user):
        return OrderLine.objects.none()
    accounts = visible_smart_accounts(user, HOLD)
    if holding_account is not None:
        accounts = accounts.filter(pk=getattr(holding_account, "pk", holding_account))
    return (
        OrderLine.objects.filter(state=OrderLineState.HELD, smart_account__in=accounts.values("pk"))
        .select_related("order", "order__partner", *LINE_RELATED)
        .order_by("smart_account__name", "-order__placed_at", "order_id", "number")
    )


def delegated_lines_for(user) -> QuerySet[OrderLine]:
    """Lines delegated to the user (the order's end-customer contact) whose account is not chosen yet."""
    if _is_anonymous(user):
        return OrderLine.objects.none()
    return (
        OrderLine.objects.filter(
            delegated=True, smart_account__isnull=True, order__end_customer_email__iexact=user.email,
            state__in=(OrderLineState.BOOKED, OrderLineState.AWAITING_ACCOUNT),
        )
        .select_related("order", "order__partner", *LINE_RELATED)
        .order_by("-order__placed_at", "number")
    )


def order_history(order: Order) -> QuerySet[Event]:
    """The history of an order: every event about the order or one of its lines, whichever
    account logged it, oldest first (one query; the lines come from `order.lines`, prefetched
    by `orders_visible_to`)."""
    line_ids = [str(line.pk) for line in order.lines.all()]
    return (
        Event.objects.filter(
            Q(object_type=Order._meta.model_name, object_id=str(order.pk))
            | Q(object_type=OrderLine._meta.model_name, object_id__in=line_ids)
        )
        .select_related("smart_account", "virtual_account").order_by("created_at", "pk")
    )


def line_for_invitation(invitation: Invitation) -> OrderLine | None:
    """The order line an `assign_order_line` invitation is about (its object_key `orders.orderline:<id>`)."""
    label, _, key = (invitation.object_key or "").partition(":")
    pk = id_from_text(key)
    if label != OrderLine._meta.label_lower or pk is None:
        return None
    return OrderLine.objects.select_related("order", "order__partner", *LINE_RELATED).filter(pk=pk).first()


def lines_for_shipping(*, order_number: str | None = None, placed_before: datetime.date | None = None) -> QuerySet[OrderLine]:
    """Booked lines, optionally of one order or of orders placed before a day, oldest order first."""
    qs = OrderLine.objects.filter(state=OrderLineState.BOOKED)
    if order_number:
        qs = qs.filter(order__number__iexact=order_number.strip())
    if placed_before:
        qs = qs.filter(order__placed_at__date__lt=placed_before)
    return qs.select_related("order").order_by("order_id", "number")


# --- what a partner may assign order lines to (the order form, the holding inbox) --------


def assignable_holding_accounts(partner: Partner | None) -> QuerySet[SmartAccount]:
    """Active holding accounts a partner may put order lines in: its own; a distributor's also
    its linked resellers' (the rule `order_place` enforces)."""
    if partner is None:
        return SmartAccount.objects.none()
    owners = Q(partner=partner)
    if partner.kind == PartnerKind.DISTRIBUTOR:
        owners |= Q(partner__in=Partner.linked_resellers.through.objects.filter(from_partner=partner).values("to_partner"))
    return (
        SmartAccount.objects.filter(owners, kind=SmartAccountKind.HOLDING, status=SmartAccountStatus.ACTIVE)
        .select_related("partner").order_by("partner__name", "name")
    )


def customer_accounts_matching(user, query: str, *, active_only: bool = False, limit: int = 20) -> QuerySet[SmartAccount]:
    """Customer accounts a partner user may deposit order lines into, found by a search (flows
    5 and 8): every account of an exact domain, as the domain search finds them; and by a part
    of the name, only the accounts the user already knows (holds a role in, the user's partner
    requested, or the partner ordered into before): a name search must not list every customer.
    `active_only` for moves, which deposit at once; an order may also name a `new` account."""
    text = " ".join((query or "").split())
    if len(text) < 2 or _is_anonymous(user):
        return SmartAccount.objects.none()
    known = Q(pk__in=visible_smart_accounts(user).values("pk"))
    my_partner = Partner.objects.filter(memberships__user=user).values("pk")
    known |= Q(partner__in=my_partner)
    known |= Q(Exists(OrderLine.objects.filter(smart_account=OuterRef("pk"), order__partner__in=my_partner)))
    statuses = [SmartAccountStatus.ACTIVE] if active_only else [SmartAccountStatus.ACTIVE, SmartAccountStatus.NEW]
    return (
        SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, status__in=statuses)
        .filter(Q(domain=normalise_domain(text)) | (Q(name__icontains=text) & known))
        .order_by("name", "domain")[:limit]
    )


@dataclass(frozen=True)
class CustomerMismatch:
    """A line whose order was placed for another customer than the account it is moved into."""

    line: OrderLine
    customer_name: str
    customer_domain: str
    account_name: str
    account_domain: str


def _name_words(name: str) -> list[str]:
    return re.findall(r"\w+", (name or "").casefold())


def _contains_words(longer: list[str], shorter: list[str]) -> bool:
    size = len(shorter)
    return any(longer[i:i + size] == shorter for i in range(len(longer) - size + 1))


def _names_match(a: str, b: str) -> bool:
    """Case, spacing and punctuation aside, equal, or one inside the other as whole words
    ("Acme" in "ACME Corp."; but "IT" is not in "Wingtip Toys")."""
    words_a, words_b = _name_words(a), _name_words(b)
    if not words_a or not words_b:
        return False
    if "".join(words_a) == "".join(words_b):
        return True
    return _contains_words(words_a, words_b) or _contains_words(words_b, words_a)


def customer_mismatches(lines, smart_account: SmartAccount) -> list[CustomerMismatch]:
    """The lines (with their orders loaded) whose end customer does not look like
    `smart_account`: the contact email's domain is neither the account's domain nor under it,
    and the names do not match. A hint for people choosing an account, not a rule. No query."""
    account_domain = normalise_domain(smart_account.domain)
    mismatches = []
    for line in lines:
        order = line.order
        domain = email_domain(order.end_customer_email)
        if account_domain and (domain == account_domain or domain.endswith("." + account_domain)):
            continue
        if _names_match(order.end_customer_name, smart_account.name):
            continue
        mismatches.append(CustomerMismatch(line=line, customer_name=order.end_customer_name, customer_domain=domain,
                                           account_name=smart_account.name, account_domain=account_domain))
    return mismatches
