"""`bench.seed` / `manage.py bench_seed`: the DESIGN.md §6 scale dataset, seeded here at 1 %: the
objects bench/dataset.py names exist, the sizes scale, the trees are valid MPTT trees under a
DEFAULT root, what the app keeps derived agrees with it, and the timed pages show the data to
their users. Seeded once for the module, inside a transaction rolled back at its end."""
from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F, Max
from django.test.utils import override_settings
from django.utils import timezone

from accounts.models import (
    Event,
    HoldingMembership,
    Partner,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    User,
    VirtualAccount,
)
from bench import dataset as D
from bench import seed as bench_seed
from licensing import services as licensing_services
from licensing.models import Device, DeviceUsage, Entitlement, LicenseKind, Product, Shortage, UsageSnapshot
from licensing.selectors import virtual_account_license_summary
from orders.models import Order, OrderLine, OrderLineState

pytestmark = pytest.mark.django_db

SCALE = 0.01


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                result = bench_seed.seed(scale=SCALE, force=True, progress=False)
            yield result
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def big(seeded) -> SmartAccount:
    return SmartAccount.objects.get(name=D.BIG_ACCOUNT_NAME, kind=SmartAccountKind.CUSTOMER)


@pytest.fixture
def busy(big) -> VirtualAccount:
    return VirtualAccount.objects.get(smart_account=big, name=D.BUSY_VIRTUAL_ACCOUNT_NAME)


def test_sizes_scale_with_floors_that_keep_a_tiny_dataset_meaningful():
    full, tiny = bench_seed.sizes(1.0), bench_seed.sizes(SCALE)

    assert (full.smart_accounts, full.big_account_virtual_accounts, full.products, full.devices, full.usage_rows,
            full.orders, full.order_lines) == (D.SMART_ACCOUNTS, D.BIG_ACCOUNT_VIRTUAL_ACCOUNTS, D.PRODUCTS, D.DEVICES,
                                               D.USAGE_ROWS, D.ORDERS, D.ORDER_LINES)
    assert (full.busy_devices, full.held_lines) == (D.BUSY_VIRTUAL_ACCOUNT_DEVICES, D.HELD_LINES)
    assert (tiny.devices, tiny.usage_rows, tiny.orders, tiny.order_lines) == (1_000, 3_000, 200, 1_000)
    assert tiny.big_account_virtual_accounts > D.BIG_ACCOUNT_MAX_DEPTH  # room for the full depth


def test_it_refuses_a_database_whose_name_lacks_bench(monkeypatch):
    monkeypatch.setattr(bench_seed.seeder, "database_name", lambda: "portal")  # where seed() looks it up

    with pytest.raises(bench_seed.SeedRefused):
        bench_seed.seed(scale=SCALE, progress=False)
    with pytest.raises(CommandError, match="--force"):
        call_command("bench_seed", "--scale", str(SCALE), "--no-progress")


def test_every_count_of_the_contract_is_met_exactly(seeded):
    size = bench_seed.sizes(SCALE)

    assert SmartAccount.objects.count() == size.smart_accounts == seeded["counts"]["smart_accounts"]
    assert VirtualAccount.objects.filter(smart_account__name=D.BIG_ACCOUNT_NAME).count() == size.big_account_virtual_accounts
    assert Product.objects.count() == size.products
    assert Device.objects.count() == size.devices
    assert DeviceUsage.objects.count() == size.usage_rows
    assert Order.objects.count() == size.orders
    assert OrderLine.objects.count() == size.order_lines
    assert Event.objects.count() > size.orders  # a few per order, device and VA
    # An event's Virtual Account is one of its account's.
    assert not Event.objects.exclude(virtual_account=None).exclude(virtual_account__smart_account=F("smart_account")).exists()
    assert set(seeded["seconds"]) >= {"wipe", "accounts", "devices", "orders", "compliance", "events", "analyze"}


def test_the_named_objects_exist_with_their_roles(seeded, big, busy):
    admin = User.objects.get(email=D.BIG_ACCOUNT_ADMIN)
    partner_admin = User.objects.get(email=D.PARTNER_ADMIN)
    partner = Partner.objects.get(name=D.PARTNER_NAME)
    holding = SmartAccount.objects.get(name=D.HOLDING_ACCOUNT_NAME, kind=SmartAccountKind.HOLDING)

    assert big.domain == D.BIG_ACCOUNT_DOMAIN and big.is_active
    assert SmartAccountRole.objects.filter(user=admin, content_object=big, permission__codename=Role.SA_ADMIN).exists()
    assert partner.kind == PartnerKind.DISTRIBUTOR and partner.linked_resellers.exists()
    assert PartnerMembership.objects.get(user=partner_admin).partner == partner
    assert PartnerMembership.objects.get(user=partner_admin).is_admin
    assert holding.partner == partner
    assert HoldingMembership.objects.filter(smart_account=holding, user=partner_admin).exists()
    assert Order.objects.exclude(partner=partner).count() == 0
    # Every bench user signs in with the one password, with a verified address.
    assert admin.check_password(D.PASSWORD) and partner_admin.check_password(D.PASSWORD)
    assert admin.emailaddress_set.get().verified


def test_the_busy_virtual_account_has_the_most_devices_of_the_big_account(big, busy):
    per_va = Counter(Device.objects.filter(virtual_account__smart_account=big).values_list("virtual_account", flat=True))

    assert per_va[busy.pk] == bench_seed.sizes(SCALE).busy_devices
    assert per_va.most_common(1)[0] == (busy.pk, per_va[busy.pk])
    assert busy.is_leaf_node()


def test_held_lines_wait_in_the_holding_account_and_lines_come_in_every_state(seeded):
    held = OrderLine.objects.filter(state=OrderLineState.HELD)

    assert held.count() == bench_seed.sizes(SCALE).held_lines
    assert set(held.values_list("smart_account__name", "held_in__name").distinct()) == {(D.HOLDING_ACCOUNT_NAME,) * 2}
    states = set(OrderLine.objects.values_list("state", flat=True))
    assert states == set(OrderLineState.values)
    assert OrderLine.objects.filter(delegated=True, smart_account__isnull=True).exists()
    assert OrderLine.objects.filter(state=OrderLineState.PROVISIONED, held_in__name=D.HOLDING_ACCOUNT_NAME).exists()


def test_every_account_has_its_default_root_and_valid_mptt_trees(seeded, big):
    for account in SmartAccount.objects.all():
        roots = list(VirtualAccount.objects.filter(smart_account=account, parent__isnull=True))
        assert [root.name for root in roots] == [VirtualAccount.ROOT_NAME]
        assert account.default_virtual_account_id == roots[0].pk
        tree_ids = set(VirtualAccount.objects.filter(smart_account=account).values_list("tree_id", flat=True))
        assert tree_ids == {roots[0].tree_id}

    assert VirtualAccount.objects.filter(smart_account=big).aggregate(depth=Max("level"))["depth"] == D.BIG_ACCOUNT_MAX_DEPTH
    # django-mptt's own numbering of each tree is the one seeded (children in name order).
    fields = ("pk", "lft", "rght", "level", "tree_id")
    seeded_numbers = set(VirtualAccount.objects.values_list(*fields))
    for tree_id in VirtualAccount.objects.filter(parent__isnull=True).values_list("tree_id", flat=True):
        VirtualAccount.objects.partial_rebuild(tree_id)
    assert set(VirtualAccount.objects.values_list(*fields)) == seeded_numbers


def test_shortages_and_snapshots_agree_with_the_pools(seeded, busy):
    today = timezone.localdate()
    def snapshot_today() -> set[tuple]:
        return set(UsageSnapshot.objects.filter(day=today).values_list("virtual_account", "product", "purchased", "in_use"))

    seeded_today = snapshot_today()

    assert bench_seed.compliance_disagreements() == 0
    assert licensing_services.compliance_reconcile() == 0  # nothing for the app to settle
    licensing_services.usage_snapshot_take(day=today)
    assert snapshot_today() == seeded_today  # the hourly task writes what was seeded
    assert UsageSnapshot.objects.filter(virtual_account=busy).values("day").distinct().count() == bench_seed.SNAPSHOT_DAYS
    # The busy VA's license table shows both a shortage and licenses to spare.
    lines = virtual_account_license_summary(busy)
    assert any(line.shortage for line in lines) and any(line.available for line in lines)
    assert Shortage.objects.filter(virtual_account=busy, cleared_at__isnull=True).exists()


def test_what_shipping_deposited_matches_the_lines(seeded):
    provisioned = OrderLine.objects.filter(state=OrderLineState.PROVISIONED)
    for line in provisioned.filter(product__license_kind=LicenseKind.SMART).prefetch_related("entitlements")[:200]:
        (entitlement,) = line.entitlements.all()
        assert (entitlement.virtual_account_id, entitlement.product_id, entitlement.quantity) == (
            line.virtual_account_id, line.product_id, line.quantity)
        assert (entitlement.starts_on, entitlement.ends_on) == (line.starts_on, line.ends_on)
        assert entitlement.source_ref == f"{line.order.number} line {line.number}"
    for line in provisioned.filter(product__license_kind=LicenseKind.CLASSIC).prefetch_related("classic_licenses"):
        (pak,) = line.classic_licenses.all()
        assert (pak.smart_account_id, pak.quantity) == (line.smart_account_id, line.quantity)
    assert not Entitlement.objects.filter(virtual_account__smart_account__kind=SmartAccountKind.HOLDING).exists()
    assert not Device.objects.filter(virtual_account__smart_account__kind=SmartAccountKind.HOLDING).exists()


def test_the_timed_pages_show_the_data_to_their_users(seeded):
    pages = bench_seed.check_pages()

    assert len(pages) == 6
    assert [(page.url, page.status, page.missing) for page in pages if not page.ok] == []
