"""Pools and compliance: what counts toward purchased, what a device draws on, and the summary's
query count."""
import datetime

import pytest
from django.utils import timezone

from accounts.models import VirtualAccount
from licensing.selectors import (
    entitlements_for,
    license_summary,
    pool_position,
    pool_positions,
    pool_standing,
    smart_account_license_summary,
    virtual_account_license_summary,
)

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    ProductFactory,
    ShortageFactory,
    SmartAccountFactory,
    VirtualAccountFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def use(va, product, count):
    DeviceUsageFactory(device=DeviceFactory(virtual_account=va), product=product, count=count)


def by_sku(lines):
    return {line.sku: (line.purchased, line.in_use, line.available, line.shortage, line.status) for line in lines}


def test_expired_subscriptions_stop_counting_toward_purchased(acme, subscription_product):
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=5, starts_on=days(-365), ends_on=days(-1))
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=3, starts_on=days(-365), ends_on=TODAY)

    assert pool_position(acme.us, subscription_product).purchased == 3  # the last day still counts
    assert pool_position(acme.us, subscription_product, on=days(1)).purchased == 0


def test_subscriptions_count_from_their_start(acme, subscription_product):
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=4, starts_on=days(2), ends_on=days(367))

    assert pool_position(acme.us, subscription_product).purchased == 0
    assert pool_position(acme.us, subscription_product, on=days(2)).purchased == 4


def test_usage_above_the_pool_is_a_shortage(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=3)
    use(acme.us, product, 2)
    use(acme.us, product, 3)

    line = pool_position(acme.us, product)
    assert (line.purchased, line.in_use, line.available, line.shortage, line.status) == (3, 5, 0, 2, "shortage")


def test_pool_is_per_virtual_account(acme, product):
    # Europe has licenses to spare; a device in US still draws only on US's own (empty) pool.
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    use(acme.us, product, 3)

    assert by_sku([pool_position(acme.us, product)]) == {"ISR-SEC-K9": (0, 3, 0, 3, "shortage")}
    assert by_sku([pool_position(acme.europe, product)]) == {"ISR-SEC-K9": (10, 0, 10, 0, "in_compliance")}
    # The roll-up adds up each VA's position: Europe's surplus does not cover US's overage.
    assert by_sku(smart_account_license_summary(acme.account)) == {"ISR-SEC-K9": (10, 3, 10, 3, "shortage")}


def test_a_parent_pool_does_not_cover_its_children(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    use(acme.finance, product, 1)

    assert by_sku(virtual_account_license_summary(acme.finance)) == {"ISR-SEC-K9": (0, 1, 0, 1, "shortage")}
    assert by_sku(virtual_account_license_summary(acme.us)) == {"ISR-SEC-K9": (10, 0, 10, 0, "in_compliance")}
    assert by_sku(virtual_account_license_summary(acme.us, subtree=True)) == {"ISR-SEC-K9": (10, 1, 10, 1, "shortage")}


def test_pool_positions_answers_for_every_product_asked(acme, product):
    unused = ProductFactory(sku="NEVER-BOUGHT")
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)

    positions = pool_positions(acme.us, [product, unused])

    assert {pk: line.available for pk, line in positions.items()} == {product.pk: 2, unused.pk: 0}


@pytest.mark.parametrize("on", [days(-30), TODAY, days(30), days(400)])
def test_pool_standing_counts_as_pool_positions_and_finds_the_open_shortage(acme, product, subscription_product, on):
    # pool_standing is written out in SQL (usage reports run it on every change): it must count
    # purchased and in use exactly as the ORM's pool_totals does, on any day.
    never = ProductFactory(sku="NEVER-BOUGHT")
    for starts, ends, quantity in [(None, None, 2), (days(-400), days(-1), 5), (days(-10), TODAY, 3),
                                   (days(10), days(375), 7), (days(-10), days(355), 0)]:
        EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=quantity, starts_on=starts, ends_on=ends)
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=4)
    EntitlementFactory(virtual_account=acme.finance, product=product, quantity=50)  # a child's pool: not US's
    use(acme.us, product, 3)
    use(acme.us, product, 0)
    use(acme.us, subscription_product, 6)
    use(acme.finance, product, 9)
    ShortageFactory(virtual_account=acme.us, product=product, cleared_at=timezone.now())  # cleared: not open
    ShortageFactory(virtual_account=acme.finance, product=subscription_product)  # another VA's
    short = ShortageFactory(virtual_account=acme.us, product=subscription_product)
    products = [product, subscription_product, never]

    standing = pool_standing(acme.us, products, on=on)
    positions = pool_positions(acme.us, products, on=on)

    assert list(standing) == [p.pk for p in products]
    assert {pk: by_sku([s.line]) for pk, s in standing.items()} == {pk: by_sku([line]) for pk, line in positions.items()}
    assert {pk: s.open_shortage_id for pk, s in standing.items()} == {product.pk: None, subscription_product.pk: short.pk,
                                                                      never.pk: None}
    assert pool_standing(acme.us.pk, products, on=on)[never.pk].line.in_use == 0


def test_entitlements_for_lists_a_pools_active_entitlements_soonest_ending_first(acme, subscription_product):
    product = subscription_product
    perpetual = EntitlementFactory(virtual_account=acme.us, product=product, quantity=1)
    late = EntitlementFactory(virtual_account=acme.us, product=product, quantity=1, starts_on=days(-1), ends_on=days(300))
    soon = EntitlementFactory(virtual_account=acme.us, product=product, quantity=1, starts_on=days(-1), ends_on=days(30))
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=1, starts_on=days(-400), ends_on=days(-40))
    EntitlementFactory(virtual_account=acme.finance, product=product, quantity=1)
    EntitlementFactory(virtual_account=acme.us, quantity=1)  # another product

    assert list(entitlements_for(acme.us, product)) == [soon, late, perpetual]


def _world(size: int):
    """One account with `size` VAs, `size` products, and in each VA an entitlement of every
    product and `size` devices each using one product."""
    account = SmartAccountFactory()
    products = [ProductFactory() for _ in range(size)]
    for _ in range(size):
        va = VirtualAccountFactory(parent=account.default_virtual_account)
        for product in products:
            EntitlementFactory(virtual_account=va, product=product, quantity=5)
        for i in range(size):
            use(va, products[i], 1)
    return account, products


@pytest.mark.parametrize("size", [2, 20])
def test_license_summary_runs_constant_queries(django_assert_num_queries, size):
    account, products = _world(size)
    vas = VirtualAccount.objects.filter(smart_account=account)

    # 1: purchased per (VA, product); 2: in use per (VA, product); 3: the products.
    with django_assert_num_queries(3):
        lines = license_summary(vas)

    assert len(lines) == size
    assert {(line.purchased, line.in_use) for line in lines} == {(5 * size, size)}
