"""Transfers out of one pool at the same moment, on a real PostgreSQL (SQLite serialises every write, so the
question does not arise there). Each thread has its own database connection."""
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from accounts.models import Event, SmartAccount, VirtualAccount
from accounts.services import virtual_account_create
from licensing import selectors
from licensing.models import DeviceUsage, Entitlement
from licensing.services import license_transfer

from ..concurrency import run_at_once

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    ProductFactory,
    SmartAccountFactory,
    VirtualAccountFactory,
)
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def slowed_pool_positions(monkeypatch, seconds=0.3):
    """Widen the window between reading availability and writing, so that without a lock both
    transfers would read the same 10 available and both spend them."""
    real = selectors.pool_positions

    def slow(*args, **kwargs):
        positions = real(*args, **kwargs)
        time.sleep(seconds)
        return positions

    monkeypatch.setattr(selectors, "pool_positions", slow)


def test_two_transfers_out_of_one_pool_at_once_never_overdraw_it(monkeypatch):
    account = SmartAccountFactory()
    source = VirtualAccountFactory(parent=account.default_virtual_account, name="Source")
    first = VirtualAccountFactory(parent=account.default_virtual_account, name="First")
    second = VirtualAccountFactory(parent=account.default_virtual_account, name="Second")
    product = ProductFactory()
    EntitlementFactory(virtual_account=source, product=product, quantity=10)
    slowed_pool_positions(monkeypatch)

    outcomes = run_at_once(
        lambda: license_transfer(from_virtual_account=source, to_virtual_account=first, lines=[(product, 8)], actor=None),
        lambda: license_transfer(from_virtual_account=source, to_virtual_account=second, lines=[(product, 8)], actor=None),
        timeout=30,
    )

    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) == 1, outcomes
    assert "8 requested, 2 available in Source" in str(failures[0])
    held = dict(Entitlement.objects.values("virtual_account").annotate(q=Sum("quantity")).values_list("virtual_account", "q"))
    assert held.get(source.pk) == 2
    assert held.get(first.pk, 0) + held.get(second.pk, 0) == 8
    assert Entitlement.objects.filter(quantity__lt=0).count() == 0


def test_16_transfers_out_of_one_pool_at_once_spend_exactly_what_it_has(monkeypatch):
    # 40 purchased (two entitlements, so that transfers split them), 5 in use: 35 available.
    # Sixteen transfers of 3 ask for 48: exactly eleven fit (33), five are refused.
    account = SmartAccountFactory()
    root = account.default_virtual_account
    source = VirtualAccountFactory(parent=root, name="Source")
    targets = [VirtualAccountFactory(parent=root, name=f"Target {n}") for n in range(4)]
    product = ProductFactory()
    EntitlementFactory(virtual_account=source, product=product, quantity=25)
    EntitlementFactory(virtual_account=source, product=product, quantity=15)
    DeviceUsageFactory(device=DeviceFactory(virtual_account=source), product=product, count=5)
    slowed_pool_positions(monkeypatch, seconds=0.05)

    def transfer(target):
        return lambda: license_transfer(from_virtual_account=source, to_virtual_account=target, lines=[(product, 3)], actor=None)

    outcomes = run_at_once(*(transfer(targets[n % 4]) for n in range(16)), timeout=60)

    done = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert (len(done), len(refused)) == (11, 5), outcomes
    # Each refusal is the rule in words, with the pool as the refused transfer found it.
    assert all(isinstance(exc, ValidationError) for exc in refused), refused
    assert {tuple(exc.message_dict["lines.0.quantity"]) for exc in refused} == {
        ("3 requested, 2 available in Source.",)}
    assert all(sum(e.quantity for e in created) == 3 for created in done)

    # Nothing created or lost, nothing negative, and the source keeps exactly what it still uses.
    assert Entitlement.objects.filter(product=product).aggregate(q=Sum("quantity"))["q"] == 40
    assert not Entitlement.objects.filter(quantity__lte=0).exists()
    line = selectors.pool_position(source, product)
    assert (line.purchased, line.in_use, line.available) == (7, 5, 2)
    moved = {va.name: selectors.pool_position(va, product).purchased for va in targets}
    assert sum(moved.values()) == 33 and all(q % 3 == 0 for q in moved.values())
    # One record per transfer that happened, none for a refused one.
    assert Event.objects.filter(action="licenses.transferred", virtual_account=source).count() == 11
    assert DeviceUsage.objects.get().count == 5


def test_a_transfer_and_a_tree_change_at_once_do_not_deadlock(monkeypatch):
    # A tree write locks the account row, then renumbers the VA rows (MPTT); a transfer that
    # locked VA rows first and then needed the account row (for its Event) would deadlock with it.
    account = SmartAccountFactory()
    root = account.default_virtual_account
    us = VirtualAccountFactory(parent=root, name="US")
    product = ProductFactory()
    EntitlementFactory(virtual_account=root, product=product, quantity=10)

    def tree_write():
        with transaction.atomic():
            SmartAccount.objects.select_for_update().get(pk=account.pk)  # as accounts.services.virtual_accounts._lock_tree
            time.sleep(0.5)  # the transfer starts meanwhile
            return virtual_account_create(parent=VirtualAccount.objects.get(pk=root.pk), name="Europe", actor=None)

    def transfer():
        time.sleep(0.1)  # let the tree write take its lock first
        return license_transfer(from_virtual_account=root, to_virtual_account=us, lines=[(product, 4)], actor=None)

    outcomes = run_at_once(tree_write, transfer, timeout=30)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert selectors.pool_position(us, product).available == 4
    assert VirtualAccount.objects.filter(smart_account=account, name="Europe").exists()
