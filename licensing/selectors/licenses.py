"""Licenses over many Virtual Accounts: the scope of a read (what a user may see), the summary
per product rolled up over VAs, and the license tree (each VA's own pool and its subtree's)."""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts import permissions
from accounts.models import SmartAccount, User, VirtualAccount

from ..models import Product
from .pools import LicenseLine, pool_totals


def virtual_accounts_in_scope(
    user: User | None,
    *,
    smart_account: SmartAccount | None = None,
    virtual_account: VirtualAccount | None = None,
    subtree: bool = True,
) -> QuerySet[VirtualAccount]:
    """The Virtual Accounts a read covers: one VA (with its subtree unless `subtree=False`) or a
    whole Smart Account, narrowed to what `user` may see (None: the system, everything)."""
    qs = VirtualAccount.objects.all() if user is None else permissions.visible_virtual_accounts(user)
    if virtual_account is not None:
        if subtree:
            # The subtree as one range of `lft` (what MPTT's get_descendants does), not as
            # lft >= … AND rght <= …: PostgreSQL estimates two ranges on two columns as if they
            # were independent (a leaf's "subtree" looked like a tenth of the tree), and then
            # sorted every device of the table for a page of 25 (bench/run/, device list).
            return qs.filter(
                smart_account_id=virtual_account.smart_account_id, tree_id=virtual_account.tree_id,
                lft__range=(virtual_account.lft, virtual_account.rght),
            )
        return qs.filter(pk=virtual_account.pk)
    if smart_account is not None:
        return qs.filter(smart_account=smart_account)
    return qs


def license_summary(
    virtual_accounts: QuerySet[VirtualAccount],
    *,
    on: datetime.date | None = None,
    products: Iterable[Product] | None = None,
) -> list[LicenseLine]:
    """Per product: purchased, in use, available and shortage over the given Virtual Accounts
    (optionally only the given products).

    Pools are per Virtual Account: a device consumes only from its own VA, so a roll-up adds up
    each VA's shortage and availability rather than netting one VA's surplus against another's
    overage. Three queries, whatever the number of VAs, devices or products.
    """
    purchased, in_use = pool_totals(virtual_accounts, on=on, products=products)
    product_ids = {p for _, p in purchased} | {p for _, p in in_use}
    catalogue = Product.objects.in_bulk(product_ids)
    lines: dict[int, LicenseLine] = {}
    for key in set(purchased) | set(in_use):
        line = lines.setdefault(key[1], LicenseLine(product=catalogue[key[1]]))
        line.add_pool(purchased[key], in_use[key])
    return _sorted(lines.values())


def _sorted(lines: Iterable[LicenseLine]) -> list[LicenseLine]:
    return sorted(lines, key=lambda line: (line.product.family, line.product.sku))


def virtual_account_license_summary(virtual_account: VirtualAccount, *, subtree: bool = False) -> list[LicenseLine]:
    vas = virtual_account.get_descendants(include_self=True) if subtree else VirtualAccount.objects.filter(pk=virtual_account.pk)
    return license_summary(vas)


def smart_account_license_summary(smart_account: SmartAccount, *, user: User | None = None) -> list[LicenseLine]:
    """The whole account's roll-up; for a `user`, over the Virtual Accounts they may see only."""
    return license_summary(virtual_accounts_in_scope(user, smart_account=smart_account))


@dataclass
class VirtualAccountLicenses:
    """A row of the license tree: one VA's own pool and the roll-up of its subtree."""

    virtual_account: VirtualAccount
    own: list[LicenseLine] = field(default_factory=list)
    subtree: list[LicenseLine] = field(default_factory=list)

    @property
    def shortage(self) -> int:
        return sum(line.shortage for line in self.subtree)


def license_tree(
    virtual_accounts: QuerySet[VirtualAccount], *, on: datetime.date | None = None
) -> list[VirtualAccountLicenses]:
    """Per Virtual Account, in tree order: its own positions per product and the roll-up over its
    subtree (within the given VAs: a user's visible part of the tree). Four queries."""
    vas = list(virtual_accounts.order_by("tree_id", "lft"))
    purchased, in_use = pool_totals(virtual_accounts, on=on, products=None)
    catalogue = Product.objects.in_bulk({p for _, p in purchased} | {p for _, p in in_use})
    own: dict[int, dict[int, LicenseLine]] = defaultdict(dict)
    for key in set(purchased) | set(in_use):
        own[key[0]].setdefault(key[1], LicenseLine(product=catalogue[key[1]])).add_pool(purchased[key], in_use[key])
    rollup: dict[int, dict[int, LicenseLine]] = defaultdict(dict)
    by_pk = {va.pk: va for va in vas}
    # Children come after their parent in (tree_id, lft) order: walk backwards, add each VA's
    # own pools and its gathered subtree into its nearest ancestor within the set.
    for va in reversed(vas):
        mine = rollup[va.pk]
        for pid, line in own.get(va.pk, {}).items():
            mine.setdefault(pid, LicenseLine(product=line.product)).add_line(line)
        # A parent outside what the caller sees ends the roll-up there.
        parent = va.parent_id if va.parent_id in by_pk else None
        if parent is not None:
            into = rollup[parent]
            for pid, line in mine.items():
                into.setdefault(pid, LicenseLine(product=line.product)).add_line(line)
    return [
        VirtualAccountLicenses(virtual_account=va, own=_sorted(own.get(va.pk, {}).values()), subtree=_sorted(rollup[va.pk].values()))
        for va in vas
    ]


def license_tree_summary(rows: list[VirtualAccountLicenses]) -> list[LicenseLine]:
    """What `license_summary` answers over the same Virtual Accounts, from their `license_tree`
    (no query): the roll-ups of the rows whose parent is not among them (each VA is in exactly
    one such subtree) added up per product."""
    ids = {row.virtual_account.pk for row in rows}
    lines: dict[int, LicenseLine] = {}
    for row in rows:
        if row.virtual_account.parent_id in ids:
            continue
        for line in row.subtree:
            lines.setdefault(line.product.pk, LicenseLine(product=line.product)).add_line(line)
    return _sorted(lines.values())
