"""Daily usage snapshots (`usage_snapshot_take`, its Celery task) and what is read from them:
usage over time and the reconciliation report."""
import datetime

import pytest
from django.utils import timezone

from accounts.models import VirtualAccount
from licensing import tasks
from licensing.models import UsageSnapshot
from licensing.selectors import reconciliation, usage_series, virtual_accounts_in_scope
from licensing.services import device_report_usage, usage_snapshot_take

from ..factories import DeviceFactory, EntitlementFactory, HoldingAccountFactory, ProductFactory, UsageSnapshotFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
D = datetime.date(2025, 3, 1)


def day(n: int) -> datetime.date:
    return D + datetime.timedelta(days=n)


def snapshots() -> set[tuple]:
    return set(UsageSnapshot.objects.values_list("virtual_account__name", "product__sku", "day", "purchased", "in_use"))


def test_a_snapshot_records_purchased_and_in_use_per_virtual_account_and_product(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=4)
    device = DeviceFactory(virtual_account=acme.europe)
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 2}])

    assert usage_snapshot_take() == 2

    assert snapshots() == {("US", "ISR-SEC-K9", TODAY, 4, 0), ("Europe", "ISR-SEC-K9", TODAY, 0, 2)}


def test_snapshot_task_is_idempotent_per_day(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=4)
    device = DeviceFactory(virtual_account=acme.us)
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 1}])

    tasks.usage_snapshot_take.delay().get()
    tasks.usage_snapshot_take.delay().get()
    assert snapshots() == {("US", "ISR-SEC-K9", TODAY, 4, 1)}

    # Taken again later the same day: the day's row is replaced, not added to.
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 3}])
    tasks.usage_snapshot_take.delay(TODAY.isoformat()).get()
    assert snapshots() == {("US", "ISR-SEC-K9", TODAY, 4, 3)}


def test_a_pool_emptied_since_the_last_run_goes_to_zero(acme, product):
    device = DeviceFactory(virtual_account=acme.us)
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": 1}])
    usage_snapshot_take()
    device_report_usage(device=device, usage=[])

    usage_snapshot_take()

    assert snapshots() == {("US", "ISR-SEC-K9", TODAY, 0, 0)}


def test_snapshots_count_only_active_entitlements_and_skip_holding_accounts(acme, subscription_product):
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=4, starts_on=D, ends_on=day(9))
    EntitlementFactory(virtual_account=HoldingAccountFactory().default_virtual_account, product=subscription_product)

    usage_snapshot_take(day=day(9))
    usage_snapshot_take(day=day(10))

    assert snapshots() == {("US", "DNA-ADV-1Y", day(9), 4, 0)}


@pytest.fixture
def history(acme, product):
    """US and Europe, one product, six days:
    day        0   1   2   3   4   5
    US         3/2 3/4 3/5 3/3 3/6 3/1   (purchased/in use: short 0 1 2 0 3 0)
    Europe     5/7 5/5 5/5 5/5 5/5 5/5   (short 2 0 0 0 0 0)
    """
    us = [(3, 2), (3, 4), (3, 5), (3, 3), (3, 6), (3, 1)]
    europe = [(5, 7)] + [(5, 5)] * 5
    for n, ((pu, iu), (pe, ie)) in enumerate(zip(us, europe)):
        UsageSnapshotFactory(virtual_account=acme.us, product=product, day=day(n), purchased=pu, in_use=iu)
        UsageSnapshotFactory(virtual_account=acme.europe, product=product, day=day(n), purchased=pe, in_use=ie)
    return acme


def test_reconciliation_gives_peak_shortage_and_days_in_shortage(history, product):
    [line] = reconciliation(VirtualAccount.objects.filter(smart_account=history.account), start=day(0), end=day(5))

    # Per-VA shortages add up: day 0 is 0 (US) + 2 (Europe), Europe's surplus never covers US.
    assert (line.sku, line.peak_shortage, line.peak_day, line.days_in_shortage, line.days_reported) == (
        "ISR-SEC-K9", 3, day(4), 4, 6)
    assert (line.peak_in_use, line.purchased_at_peak) == (11, 8)


def test_reconciliation_covers_only_the_period_and_scope(history, product):
    [line] = reconciliation(VirtualAccount.objects.filter(pk=history.us.pk), start=day(1), end=day(3))
    assert (line.peak_shortage, line.peak_day, line.days_in_shortage, line.days_reported) == (2, day(2), 2, 3)
    assert reconciliation(VirtualAccount.objects.filter(pk=history.us.pk), start=day(10), end=day(20)) == []


def test_reconciliation_for_a_va_role_sees_its_subtree_only(history, product):
    scope = virtual_accounts_in_scope(history.va_viewer, smart_account=history.account)
    [line] = reconciliation(scope, start=day(0), end=day(5))
    assert (line.peak_shortage, line.days_in_shortage) == (3, 3)  # US only: Europe's day-0 shortage is not theirs


def test_usage_series_adds_up_the_virtual_accounts_day_by_day(history, product):
    other = ProductFactory(sku="OTHER")
    UsageSnapshotFactory(virtual_account=history.us, product=other, day=day(2), purchased=1, in_use=0)

    series = usage_series(VirtualAccount.objects.filter(smart_account=history.account), start=day(1), end=day(3))

    by_sku = {s.product.sku: s for s in series}
    assert by_sku["ISR-SEC-K9"].days == [day(1), day(2), day(3)]
    assert by_sku["ISR-SEC-K9"].in_use == [9, 10, 8]
    assert by_sku["ISR-SEC-K9"].purchased == [8, 8, 8]
    assert by_sku["ISR-SEC-K9"].shortage == [1, 2, 0]
    assert by_sku["OTHER"].purchased == [0, 1, 0]


@pytest.mark.parametrize("size", [2, 12])
def test_reconciliation_and_series_run_constant_queries(django_assert_num_queries, acme, size):
    products = [ProductFactory() for _ in range(size)]
    for n in range(size):
        for product in products:
            UsageSnapshotFactory(virtual_account=acme.us, product=product, day=day(n), purchased=1, in_use=n)
    vas = VirtualAccount.objects.filter(smart_account=acme.account)

    with django_assert_num_queries(2):  # the daily sums; the products
        assert len(reconciliation(vas, start=day(0), end=day(size))) == size
    with django_assert_num_queries(2):
        assert len(usage_series(vas, start=day(0), end=day(size))) == size
