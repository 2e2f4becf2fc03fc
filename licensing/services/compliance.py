"""Compliance (flow 11): the record of shortages kept in line with each pool, every crossing into
or out of shortage announced once (an Event and the alert email), and the daily reconciliation
of pools that changed with time alone."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import EventAction, SmartAccountKind, User, VirtualAccount
from accounts.services import event_record, notification_queue

from .. import selectors
from ..models import Product, Shortage
from .alerts import account_url, alert_recipients
from .pools import pool_lock


def compliance_update(
    *,
    virtual_account: VirtualAccount,
    products: Iterable[Product] | None = None,
    standing: dict[int, selectors.PoolStanding] | None = None,
    actor: User | None = None,
    cause: str = "",
) -> list[Shortage]:
    """Bring the record of shortages of these products in this VA in line with its pool: open a
    Shortage for each product now short without an open one, clear the open one of each product
    back in compliance, and announce each crossing (an Event, and the `insufficient_licenses`
    or `licenses_sufficient` email owed to the account's admins). `standing`: the pool's
    position with its open shortages (`selectors.pool_standing`), read by the caller under the
    lock; else read here for `products` (one query). Nothing is written when nothing crosses.

    Call it holding the VA's pool lock (`pool_lock`), after the change: the open-shortage record
    is then compared with the pool by one writer at a time, so a crossing is announced once
    however many writers race (and the database refuses a second open shortage anyway).
    Returns the shortages opened or cleared."""
    va = virtual_account
    if standing is None:
        standing = selectors.pool_standing(va, products or [])
    now = timezone.now()
    changed: list[Shortage] = []
    for line, open_id in (position for position in standing.values() if position.crossed):
        if open_id is None:
            shortage = Shortage.objects.create(virtual_account=va, product=line.product, started_at=now, quantity=line.shortage)
            _announce(shortage, line, started=True, actor=actor, cause=cause)
            changed.append(shortage)
        else:
            shortage = Shortage.objects.get(pk=open_id)
            shortage.virtual_account, shortage.product = va, line.product  # the rows in hand: no lazy loads
            shortage.cleared_at = now
            shortage.save(update_fields=["cleared_at"])
            _announce(shortage, line, started=False, actor=actor, cause=cause)
            changed.append(shortage)
    return changed


def _announce(shortage: Shortage, line: selectors.LicenseLine, *, started: bool, actor: User | None, cause: str) -> None:
    va = shortage.virtual_account
    sa = va.smart_account
    detail = {
        "sku": line.product.sku, "product": line.product.name, "virtual_account_name": va.name,
        "purchased": line.purchased, "in_use": line.in_use, "shortage": line.shortage, "cause": cause,
    }
    action = EventAction.COMPLIANCE_SHORTAGE_STARTED if started else EventAction.COMPLIANCE_SHORTAGE_CLEARED
    event_record(smart_account=sa, action=action, actor=actor, virtual_account=va, obj=shortage, detail=detail)
    recipients = alert_recipients(sa, "insufficient_licenses")
    if recipients:
        notification_queue(
            kind="insufficient_licenses" if started else "licenses_sufficient",
            about=shortage,
            recipients=recipients,
            template="insufficient_licenses" if started else "licenses_sufficient",
            context={"smart_account": sa, "virtual_account": va, "product": line.product, "line": line,
                     "shortage": shortage, "cause": cause, "account_url": account_url(sa)},
        )


def compliance_reconcile(*, virtual_accounts: Iterable[VirtualAccount | int] | None = None) -> int:
    """Find pools whose shortage record disagrees with what they hold and use now, and settle
    each under its lock (announcing the crossing). Pools change with time alone: a subscription
    that ends (or starts) moves a pool into (or out of) shortage with nobody writing; the daily
    task runs this after midnight. Each pool is settled in its own transaction (a run over every
    account never holds many locks at once). Returns how many shortages were opened or cleared."""
    scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
    if virtual_accounts is not None:
        scope = scope.filter(pk__in=[va if isinstance(va, int) else va.pk for va in virtual_accounts])
    purchased, in_use = selectors.pool_totals(scope, on=None, products=None)
    short_now = {key for key in set(purchased) | set(in_use) if in_use[key] > purchased[key]}
    recorded = set(
        Shortage.objects.filter(virtual_account__in=scope.values("pk"), cleared_at__isnull=True).values_list(
            "virtual_account_id", "product_id"
        )
    )
    suspects: dict[int, set[int]] = defaultdict(set)
    for va_id, product_id in short_now ^ recorded:
        suspects[va_id].add(product_id)
    changed = 0
    for va_id in sorted(suspects):
        with transaction.atomic():
            va = pool_lock([va_id]).get(va_id)
            if va is None:
                continue
            products = Product.objects.filter(pk__in=suspects[va_id])
            changed += len(compliance_update(virtual_account=va, products=products, cause="subscription term"))
    return changed
