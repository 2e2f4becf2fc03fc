"""The pool lock: whoever changes what a Virtual Account's pool holds or what its devices use
(deposits, transfers, usage reports, device moves and removals, compliance) takes it first."""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from accounts.models import SmartAccount, VirtualAccount


def pool_lock(virtual_accounts: Iterable[VirtualAccount | int]) -> dict[int, VirtualAccount]:
    """Lock the pools of these Virtual Accounts until the end of the current transaction, and
    return their rows, fresh, by id. Whoever changes what a pool holds or what its devices use
    (transfers, deposits, usage reports, device moves and removals) locks it first, so that two
    transfers never spend the same licenses and every crossing into or out of shortage is seen
    by exactly one writer.

    Locks are taken in one global order, Smart Accounts first and then Virtual Accounts, each by
    ascending id, so that two lockers never wait for each other in a circle. The Smart Account
    row comes first because tree writes (`accounts.services._lock_tree`) lock it FOR UPDATE and
    then update the VA rows (MPTT renumbering); a pool writer holding a VA row that then needs
    the account row (every Event row references it) would deadlock against them. The account
    row is only KEY SHARE-locked (PostgreSQL): it waits for tree writes, but pools of different
    VAs of one account are locked independently (two transfers, or two devices reporting, in
    different VAs never queue for each other). VA rows are NO KEY UPDATE-locked: they exclude
    each other and tree writes, but not the inserts that merely reference them (device
    registrations, events, entitlements). Both kinds are taken by one statement (one round trip).
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("pool_lock() holds its locks until commit; call it in a transaction.")
    return {va.pk: va for va in pool_lock_query(virtual_accounts).select_related("smart_account")}


def pool_lock_query(virtual_accounts: Iterable[VirtualAccount | int]):
    """The statement of pool_lock: the VA rows, NO KEY UPDATE-locked by ascending id, their
    Smart Account rows KEY SHARE-locked before them (PostgreSQL)."""
    ids = sorted({va if isinstance(va, int) else va.pk for va in virtual_accounts})
    rows = VirtualAccount.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=ids).order_by("pk")
    if transaction.get_connection().vendor == "postgresql":
        rows = rows.filter(_accounts_key_shared(ids))
    return rows


def _accounts_key_shared(virtual_account_ids: list[int]) -> RawSQL:
    """A condition that KEY SHARE-locks the Smart Account rows of these VAs, by ascending id,
    and is always true (see pool_lock). It is an uncorrelated subquery, so PostgreSQL runs it
    once, before the first VA row reaches the row-locking step: the account rows are locked
    before the VA rows, in the same statement (one round trip for the whole lock). SQLite has
    no row locks (a writing transaction holds the whole database): nothing to take there."""
    sa, va = SmartAccount._meta.db_table, VirtualAccount._meta.db_table
    return RawSQL(
        f"(SELECT count(*) FROM (SELECT {sa}.id FROM {sa} WHERE {sa}.id IN"
        f" (SELECT smart_account_id FROM {va} WHERE id = ANY(%s)) ORDER BY {sa}.id FOR KEY SHARE OF {sa}) AS locked) >= 0",
        (virtual_account_ids,),
        output_field=BooleanField(),
    )
