"""The pool lock: whoever changes what a Virtual Account's pool holds or what its devices use
(deposits, transfers, usage reports, device moves and removals, compliance) takes it first; and
`account_hold`, the lighter lock of whoever only needs the accounts to stay as they are (token
writes, registrations, PAKs). Both follow the lock order of `licensing.services`."""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from accounts.models import SmartAccount, VirtualAccount

# The Smart Account row's lock mode (PostgreSQL): the system's writers only keep the account
# from tree writes (KEY SHARE); a service acting for a user also keeps role changes waiting
# until it commits (SHARE conflicts with the NO KEY UPDATE of `accounts.services.roles`).
SYSTEM, ACTING = "KEY SHARE", "SHARE"


def pool_lock(virtual_accounts: Iterable[VirtualAccount | int], *, acting: bool = False) -> dict[int, VirtualAccount]:
    """Lock the pools of these Virtual Accounts until the end of the current transaction, and
    return their rows, fresh, by id. Whoever changes what a pool holds or what its devices use
    (transfers, deposits, usage reports, device moves and removals) locks it first, so that two
    transfers never spend the same licenses and every crossing into or out of shortage is seen
    by exactly one writer.

    Locks are taken in one global order, Smart Accounts first and then Virtual Accounts, each by
    ascending id, so that two lockers never wait for each other in a circle. The Smart Account
    row comes first because tree writes (`accounts.services.virtual_accounts._lock_tree`) lock
    it FOR UPDATE and then update the VA rows (MPTT renumbering); a pool writer holding a VA row that then needs
    the account row (every Event row references it) would deadlock against them. The account
    row is only KEY SHARE-locked (PostgreSQL): it waits for tree writes, but pools of different
    VAs of one account are locked independently (two transfers, or two devices reporting, in
    different VAs never queue for each other). VA rows are NO KEY UPDATE-locked: they exclude
    each other and tree writes, but not the inserts that merely reference them (device
    registrations, events, entitlements). Both kinds are taken by one statement (one round trip).

    `acting=True` (a service acting for a user, who re-checks the user's right after this) takes
    the account rows SHARE instead of KEY SHARE: a grant or revocation in the account waits until
    this transaction ends, and one committed before the lock is granted is seen by the re-check.
    """
    _require_transaction("pool_lock")
    return {va.pk: va for va in pool_lock_query(virtual_accounts, acting=acting).select_related("smart_account")}


def account_hold(
    *, virtual_accounts: Iterable[VirtualAccount | int] = (), smart_accounts: Iterable[SmartAccount | int] = (),
    acting: bool = False,
) -> dict[int, VirtualAccount]:
    """Keep these accounts as they are until the end of the transaction, without locking any
    pool: their Smart Account rows (and those of the VAs) KEY SHARE- or, `acting`, SHARE-locked
    as in `pool_lock`, then the VA rows KEY SHARE-locked, each kind by ascending id.
    No tree write (`virtual_account_delete` and its cascade to tokens) can run meanwhile, so a
    token or PAK write taking this before its own row lock never waits for a row that a tree
    write holding the account is deleting. Returns the VAs, fresh, by id: one deleted before the
    lock was granted is missing (the caller answers 404 or a field-keyed 400)."""
    _require_transaction("account_hold")
    va_ids = _ids(virtual_accounts)
    sa_ids = _ids(smart_accounts)
    if transaction.get_connection().vendor == "postgresql":
        sa, va = SmartAccount._meta.db_table, VirtualAccount._meta.db_table
        mode = ACTING if acting else SYSTEM
        which, params = [], []
        if sa_ids:
            which.append(f"{sa}.id = ANY(%s)")
            params.append(sa_ids)
        if va_ids:
            which.append(f"{sa}.id IN (SELECT smart_account_id FROM {va} WHERE id = ANY(%s))")
            params.append(va_ids)
        with transaction.get_connection().cursor() as cursor:
            if which:
                cursor.execute(
                    f"SELECT {sa}.id FROM {sa} WHERE {' OR '.join(which)} ORDER BY {sa}.id FOR {mode} OF {sa}", params
                )
            if va_ids:
                cursor.execute(f"SELECT id FROM {va} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE", [va_ids])
    if not va_ids:
        return {}
    return {va.pk: va for va in VirtualAccount.objects.filter(pk__in=va_ids).select_related("smart_account")}


def _require_transaction(name: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(f"{name}() holds its locks until commit; call it in a transaction.")


def _ids(rows: Iterable) -> list[int]:
    return sorted({row if isinstance(row, int) else row.pk for row in rows})


def pool_lock_query(virtual_accounts: Iterable[VirtualAccount | int], *, acting: bool = False):
    """The statement of pool_lock: the VA rows, NO KEY UPDATE-locked by ascending id, their
    Smart Account rows KEY SHARE- (or, `acting`, SHARE-) locked before them (PostgreSQL)."""
    ids = _ids(virtual_accounts)
    rows = VirtualAccount.objects.select_for_update(no_key=True, of=("self",)).filter(pk__in=ids).order_by("pk")
    if transaction.get_connection().vendor == "postgresql":
        rows = rows.filter(_accounts_locked(ids, ACTING if acting else SYSTEM))
    return rows


def _accounts_locked(virtual_account_ids: list[int], mode: str) -> RawSQL:
    """A condition that locks the Smart Account rows of these VAs (`mode`), by ascending id,
    and is always true (see pool_lock). It is an uncorrelated subquery, so PostgreSQL runs it
    once, before the first VA row reaches the row-locking step: the account rows are locked
    before the VA rows, in the same statement (one round trip for the whole lock). SQLite has
    no row locks (a writing transaction holds the whole database): nothing to take there."""
    sa, va = SmartAccount._meta.db_table, VirtualAccount._meta.db_table
    return RawSQL(
        f"(SELECT count(*) FROM (SELECT {sa}.id FROM {sa} WHERE {sa}.id IN"
        f" (SELECT smart_account_id FROM {va} WHERE id = ANY(%s)) ORDER BY {sa}.id FOR {mode} OF {sa}) AS locked) >= 0",
        (virtual_account_ids,),
        output_field=BooleanField(),
    )
