"""Devices registering and reporting at the same moment, on a real PostgreSQL (SQLite
serialises every write, so the question does not arise there). Each thread has its own
database connection; a barrier releases them together."""
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from accounts.models import Event, SmartAccount, VirtualAccount
from accounts.services import virtual_account_create
from licensing.models import Device, DeviceUsage, RegistrationToken, Shortage
from licensing.selectors import pool_position
from licensing.services import device_move, device_register, device_report_usage, license_transfer, pool_lock

from ..concurrency import run_at_once
from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    ProductFactory,
    RegistrationTokenFactory,
    SmartAccountFactory,
    VirtualAccountFactory,
)
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def report(device, count, sku):
    return lambda: device_report_usage(device=device, usage=[{"sku": sku, "count": count}])


@pytest.fixture
def pool():
    account = SmartAccountFactory()
    va = VirtualAccountFactory(parent=account.default_virtual_account, name="Pool")
    product = ProductFactory(sku="ISR-SEC-K9")
    EntitlementFactory(virtual_account=va, product=product, quantity=20)
    return va, product


def test_32_devices_reporting_into_one_pool_at_once_give_exact_totals_and_one_crossing(pool):
    va, product = pool
    devices = [DeviceFactory(virtual_account=va) for _ in range(32)]

    outcomes = run_at_once(*(report(device, 1, product.sku) for device in devices))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    line = pool_position(va, product)
    assert (line.purchased, line.in_use, line.shortage) == (20, 32, 12)
    assert Event.objects.filter(action="compliance.shortage_started").count() == 1
    assert Shortage.objects.filter(cleared_at__isnull=True).count() == 1

    # And back, all at once: exactly one crossing out.
    outcomes = run_at_once(*(report(device, 0, product.sku) for device in devices))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert pool_position(va, product).in_use == 0
    assert Event.objects.filter(action="compliance.shortage_cleared").count() == 1
    assert not Shortage.objects.filter(cleared_at__isnull=True).exists()


def test_one_device_reporting_many_times_at_once_keeps_its_last_report_only(pool):
    va, product = pool
    device = DeviceFactory(virtual_account=va)

    outcomes = run_at_once(*(report(device, n, product.sku) for n in range(1, 17)))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    rows = list(DeviceUsage.objects.filter(device=device).values_list("count", flat=True))
    assert len(rows) == 1 and 1 <= rows[0] <= 16  # one of the reports, whole: never a sum


def test_concurrent_registrations_never_exceed_max_uses(pool):
    va, _ = pool
    token = RegistrationTokenFactory(virtual_account=va, max_uses=5)

    outcomes = run_at_once(*(
        (lambda n=n: device_register(token=token.token, serial_number=f"FTX{n:04d}", hostname=f"h{n}")) for n in range(10)
    ))

    successes = [o for o in outcomes if isinstance(o, tuple)]
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(successes) == 5 and len(failures) == 5
    assert all("used as many times" in str(f) for f in failures), failures
    assert Device.objects.filter(virtual_account=va).count() == 5
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 5


def test_the_same_serial_registering_at_once_is_one_device_and_a_use_each(pool):
    # One creates the device; the others meet the unique constraint and re-register it, each
    # claiming a use of its own (a re-registration counts a use).
    va, _ = pool
    token = RegistrationTokenFactory(virtual_account=va)

    outcomes = run_at_once(*(
        (lambda: device_register(token=token.token, serial_number="FTX-SAME")) for _ in range(8)
    ))

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o[2] for o in outcomes) == [False] * 7 + [True]
    assert len({o[0].pk for o in outcomes}) == 1
    assert Device.objects.count() == 1
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 8
    assert Event.objects.filter(action="device.registered").count() == 1
    assert Event.objects.filter(action="device.reregistered").count() == 7
    # The device's secret is the one the last of them was given.
    assert sum(Device.objects.filter(secret_hash=Device.hash(o[1])).exists() for o in outcomes) == 1


def test_concurrent_reregistrations_of_one_serial_never_exceed_max_uses(pool):
    va, _ = pool
    device = DeviceFactory(virtual_account=va, serial_number="FTX-TAKEN", hostname="real-device")
    token = RegistrationTokenFactory(virtual_account=va, max_uses=3)

    outcomes = run_at_once(*(
        (lambda n=n: device_register(token=token.token, serial_number="FTX-TAKEN", hostname=f"h{n}")) for n in range(10)
    ))

    successes = [o for o in outcomes if isinstance(o, tuple)]
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(successes) == 3 and len(failures) == 7, outcomes
    assert all(isinstance(f, ValidationError) and f.message_dict == {
        "token": ["This registration token has been used as many times as it allows."]} for f in failures), failures
    assert {o[0].pk for o in successes} == {device.pk} and not any(o[2] for o in successes)
    assert RegistrationToken.objects.get(pk=token.pk).use_count == 3
    assert Event.objects.filter(action="device.reregistered").count() == 3
    assert sum(Device.objects.filter(pk=device.pk, secret_hash=Device.hash(o[1])).exists() for o in successes) == 1


def test_a_device_secret_sent_twice_at_once_reregisters_once(pool):
    va, _ = pool
    device = DeviceFactory(virtual_account=va, serial_number="FTX-MINE")

    outcomes = run_at_once(*(
        (lambda: device_register(device_secret=device.secret, serial_number="FTX-MINE")) for _ in range(4)
    ))

    successes = [o for o in outcomes if isinstance(o, tuple)]
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(successes) == 1 and len(failures) == 3, outcomes
    assert all(isinstance(f, ValidationError) and list(f.message_dict) == ["device_secret"] for f in failures), failures
    assert Device.objects.get(pk=device.pk).secret_hash == Device.hash(successes[0][1])
    assert Event.objects.filter(action="device.reregistered").count() == 1


def _hold_pool(va, seconds, started):
    def hold():
        with transaction.atomic():
            pool_lock([va])
            started.set()
            time.sleep(seconds)
    return hold


def _after(event, job):
    def run():
        assert event.wait(10)
        started_at = time.monotonic()
        job()
        return time.monotonic() - started_at
    return run


def test_a_report_into_one_pool_does_not_wait_for_another_pool_of_the_account(pool):
    va, product = pool
    sibling = VirtualAccountFactory(parent=va.smart_account.default_virtual_account, name="Sibling")
    device = DeviceFactory(virtual_account=sibling)
    locked = threading.Event()

    _, took = run_at_once(_hold_pool(va, 1.5, locked), _after(locked, report(device, 3, product.sku)))

    assert took < 1.0, f"waited {took:.2f}s for another Virtual Account's pool"
    assert pool_position(sibling, product).in_use == 3


def test_a_report_that_changes_nothing_does_not_wait_for_its_pool(pool):
    va, product = pool
    device = DeviceFactory(virtual_account=va)
    DeviceUsageFactory(device=device, product=product, count=2)
    locked = threading.Event()

    _, took = run_at_once(_hold_pool(va, 1.5, locked), _after(locked, report(device, 2, product.sku)))

    assert took < 1.0, f"an unchanged report waited {took:.2f}s for the pool"


def test_a_report_that_changes_usage_waits_for_its_pool(pool):
    # The other side of the two tests above: the lock is real.
    va, product = pool
    device = DeviceFactory(virtual_account=va)
    locked = threading.Event()

    _, took = run_at_once(_hold_pool(va, 1.0, locked), _after(locked, report(device, 2, product.sku)))

    assert took >= 0.8


def test_a_report_waiting_for_its_pool_counts_what_the_holder_committed_meanwhile(pool):
    # The report writes its count first and then locks the pool and reads it: that read must
    # see what the lock holder committed while the report waited (it runs in the same round
    # trip as the lock, as a statement of its own), else this crossing would go unrecorded.
    va, product = pool  # 20 purchased
    holder_device, device = DeviceFactory(virtual_account=va), DeviceFactory(virtual_account=va)
    locked = threading.Event()

    def hold_and_fill():
        with transaction.atomic():
            pool_lock([va])
            DeviceUsage.objects.create(device=holder_device, product=product, count=20)  # exactly the pool
            locked.set()
            time.sleep(1.0)

    _, took = run_at_once(hold_and_fill, _after(locked, report(device, 1, product.sku)))

    assert took >= 0.8
    assert pool_position(va, product).in_use == 21
    assert Shortage.objects.filter(virtual_account=va, product=product, cleared_at__isnull=True).count() == 1
    assert Event.objects.filter(action="compliance.shortage_started").count() == 1


def test_a_report_waiting_for_its_device_replaces_what_the_report_before_wrote(pool):
    # The device's usage is written in the same round trip as its row lock is taken, by a
    # statement of its own: it must see the rows of the report it waited for, or a product that
    # report named and this one leaves out would keep its count.
    va, product = pool
    other = ProductFactory(sku="DNA-ESS")
    device = DeviceFactory(virtual_account=va)
    locked = threading.Event()

    def report_before():
        with transaction.atomic():
            Device.objects.select_for_update(no_key=True).get(pk=device.pk)  # as a report does
            DeviceUsage.objects.create(device=device, product=other, count=3)
            locked.set()
            time.sleep(1.0)

    _, took = run_at_once(report_before, _after(locked, report(device, 2, product.sku)))

    assert took >= 0.8
    assert dict(DeviceUsage.objects.filter(device=device).values_list("product__sku", "count")) == {"ISR-SEC-K9": 2}


def test_reports_transfers_moves_and_tree_writes_at_once_do_not_deadlock(pool):
    va, product = pool
    root = va.smart_account.default_virtual_account
    sibling = VirtualAccountFactory(parent=root, name="Sibling")
    EntitlementFactory(virtual_account=sibling, product=product, quantity=50)
    devices = [DeviceFactory(virtual_account=va) for _ in range(8)]
    mover = DeviceFactory(virtual_account=sibling)
    DeviceUsageFactory(device=mover, product=product, count=1)

    def tree_write():
        with transaction.atomic():
            SmartAccount.objects.select_for_update().get(pk=va.smart_account_id)  # as accounts.services.virtual_accounts._lock_tree
            time.sleep(0.3)
            return virtual_account_create(parent=VirtualAccount.objects.get(pk=root.pk), name="Europe", actor=None)

    jobs = [report(device, 4, product.sku) for device in devices]  # 32 in use of 20: short 12
    jobs += [
        tree_write,
        lambda: license_transfer(from_virtual_account=sibling, to_virtual_account=va, lines=[(product, 12)], actor=None),
        lambda: device_move(device=mover, virtual_account=va, actor=None),
        report(mover, 1, product.sku),
    ]
    outcomes = run_at_once(*jobs)

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    line = pool_position(va, product)
    assert (line.purchased, line.in_use) == (32, 33)
    # Whatever the order, the record agrees with the pool, and crossings alternate.
    actions = list(
        Event.objects.filter(action__startswith="compliance.", virtual_account=va).order_by("id").values_list("action", flat=True)
    )
    assert actions[::2] == ["compliance.shortage_started"] * len(actions[::2])
    assert actions[1::2] == ["compliance.shortage_cleared"] * len(actions[1::2])
    assert Shortage.objects.filter(virtual_account=va, cleared_at__isnull=True).count() == (1 if line.shortage else 0)
    assert DeviceUsage.objects.filter(device__virtual_account=va).aggregate(n=Sum("count"))["n"] == 33
