"""Who may see which orders: the orders app's rule on top of accounts/permissions.py (DESIGN.md §3).
Pages, the API, filters and services ask here; selectors add what a page fetches with them."""
from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Partner, PartnerKind
from accounts.permissions import HOLD, is_staff, visible_smart_accounts

from .models import Order, OrderLine


def _is_anonymous(user) -> bool:
    return user is None or not user.is_authenticated or not user.is_active


def visible_orders(user) -> QuerySet[Order]:
    """Orders the user may see: staff all; a partner's users the partner's orders, the orders
    naming it as reseller, and (a distributor) its linked resellers' orders; anyone the orders
    with a line assigned to or held in a holding account they are a member of. One query, lazy."""
    if _is_anonymous(user):
        return Order.objects.none()
    if is_staff(user):
        return Order.objects.all()
    holding = visible_smart_accounts(user, HOLD).values("pk")
    in_my_holding = OrderLine.objects.filter(order=OuterRef("pk")).filter(
        Q(smart_account__in=holding) | Q(held_in__in=holding)
    )
    # Subqueries, not lookups: the queryset stays lazy and one query answers it.
    my_partner = Partner.objects.filter(memberships__user=user).values("pk")
    my_resellers = Partner.linked_resellers.through.objects.filter(
        from_partner__in=my_partner, from_partner__kind=PartnerKind.DISTRIBUTOR
    ).values("to_partner")
    return Order.objects.filter(
        Q(partner__in=my_partner) | Q(reseller__in=my_partner) | Q(partner__in=my_resellers) | Q(Exists(in_my_holding))
    )


def is_delegated_contact(user, line: OrderLine) -> bool:
    """Is the user the end-customer contact of the line's order, who chooses the account of a
    delegated line (and who may see why a line of theirs cannot move)? Their email, case-blind.
    Whether they verified it is asked apart (acting needs it). No query once the order is loaded."""
    if _is_anonymous(user):
        return False
    return user.email.lower() == line.order.end_customer_email.lower()
