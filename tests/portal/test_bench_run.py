"""The benchmark's bare SQL (bench/run/) answers what the pages answer: on a tiny world with the
names of bench/dataset.py, each statement returns the rows (ids, order, totals) the page's
selector shows, and every timed page and endpoint answers 200 for its user."""
import datetime
import json

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import HoldingMembership, Role
from bench import dataset as D
from bench import run as bench
from accounts import event_log
from licensing import selectors as licensing_selectors
from orders import selectors as order_selectors
from orders.models import OrderLineState
from portal.selectors import virtual_account_tree

from ..factories import (
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    EventFactory,
    HoldingAccountFactory,
    OrderFactory,
    OrderLineFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    ShortageFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)
from ..markers import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Made once for the module (rolled back after its last test)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _world()
        transaction.set_rollback(True)


def _world():
    """The contract's objects, small: a tree of depth 3 with a busy VA that has a child, pools
    with active, ended and future entitlements, usage rows (one at 0), an open shortage; a
    distributor with a linked reseller, its holding account, and the orders of others."""
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    a, b, c = (ProductFactory(sku=f"BENCH-{n}", family=family) for n, family in ((1, "Routing"), (2, "Routing"), (3, "Wireless")))
    big = SmartAccountFactory(name=D.BIG_ACCOUNT_NAME, domain=D.BIG_ACCOUNT_DOMAIN)
    admin = UserFactory(email=D.BIG_ACCOUNT_ADMIN)
    SmartAccountRoleFactory(user=admin, content_object=big, role=Role.SA_ADMIN)
    root = big.default_virtual_account
    emea = VirtualAccountFactory(parent=root, name="EMEA")
    busy = VirtualAccountFactory(parent=emea, name=D.BUSY_VIRTUAL_ACCOUNT_NAME)
    lab = VirtualAccountFactory(parent=busy, name="Lab")
    VirtualAccountFactory(parent=root, name="US")
    EntitlementFactory(virtual_account=busy, product=a, quantity=5)
    EntitlementFactory(virtual_account=busy, product=a, quantity=7, ends_on=today - day)  # ended
    EntitlementFactory(virtual_account=busy, product=b, quantity=3, starts_on=today + day)  # not yet
    EntitlementFactory(virtual_account=lab, product=b, quantity=4)
    EntitlementFactory(virtual_account=emea, product=c, quantity=9)
    EntitlementFactory(virtual_account=root, product=a, quantity=2)
    for n in range(30):
        device = DeviceFactory(virtual_account=lab if n % 4 == 0 else busy, serial_number=f"S{(n * 7) % 30:03d}")
        DeviceUsageFactory(device=device, product=a, count=n % 3)
        if n % 5 == 0:
            DeviceUsageFactory(device=device, product=c, count=1)
    ShortageFactory(virtual_account=busy, product=c)
    other = SmartAccountFactory()
    EntitlementFactory(virtual_account=other.default_virtual_account, product=a, quantity=50)
    DeviceFactory(virtual_account=other.default_virtual_account)
    for n in range(60):
        EventFactory(smart_account=big, virtual_account=[None, busy, lab][n % 3])
    EventFactory(smart_account=other)

    partner = PartnerFactory(name=D.PARTNER_NAME, distributor=True)
    partner_admin = UserFactory(email=D.PARTNER_ADMIN)
    PartnerMembershipFactory(partner=partner, user=partner_admin, is_admin=True)
    reseller, stranger = PartnerFactory(), PartnerFactory()
    partner.linked_resellers.add(reseller)
    holding = HoldingAccountFactory(name=D.HOLDING_ACCOUNT_NAME, partner=partner)
    HoldingMembership.objects.create(smart_account=holding, user=partner_admin)
    elsewhere = HoldingAccountFactory(partner=stranger)
    for n in range(40):
        order = OrderFactory(partner=[partner, reseller, stranger][n % 3])
        held_here = n % 2 == 0 and order.partner != reseller
        OrderLineFactory(order=order, product=a, state=OrderLineState.HELD,
                         smart_account=holding if held_here else elsewhere, held_in=holding if held_here else elsewhere,
                         shipped_on=today)
        OrderLineFactory(order=order, product=b)
    return bench.dataset_find()


def _rows(name: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(bench.BARE_SQL[name], params)
        return cursor.fetchall()


def _params(world, name: str):
    return next(t.sql_params for t in bench.targets(world) if t.sql == name)


def test_the_account_tree_sql_is_the_account_homes_tree(world):
    rows = _rows("account_tree", _params(world, "account_tree"))

    nodes = virtual_account_tree(world.admin, world.big_account)
    assert [(r[0], r[4], r[5], r[7], r[8]) for r in rows] == [
        (n.va.pk, n.licenses, n.devices, n.subtree_licenses, n.subtree_devices) for n in nodes
    ]
    assert {r[0]: r[6] for r in rows if r[6]} == {world.busy_virtual_account.pk: 1}


def test_the_license_sql_is_the_va_license_table(world):
    rows = _rows("licenses", _params(world, "licenses"))

    scope = licensing_selectors.virtual_accounts_in_scope(world.admin, virtual_account=world.busy_virtual_account)
    lines = licensing_selectors.license_summary(scope)
    assert [(r[1], r[4], r[5], r[6], r[7]) for r in rows] == [
        (line.sku, line.purchased, line.in_use, line.available, line.shortage) for line in lines
    ]
    assert any(line.shortage for line in lines) and any(line.available for line in lines)


def test_the_license_table_from_the_tree_is_the_license_summary(world):
    # The license page takes its table from the tree's total (licensing.views.license_list).
    for scope in (
        licensing_selectors.virtual_accounts_in_scope(world.admin, virtual_account=world.busy_virtual_account),
        licensing_selectors.virtual_accounts_in_scope(world.admin, smart_account=world.big_account),
    ):
        summary = licensing_selectors.license_tree_summary(licensing_selectors.license_tree(scope))
        assert [(x.sku, x.purchased, x.in_use, x.available, x.shortage) for x in summary] == [
            (x.sku, x.purchased, x.in_use, x.available, x.shortage) for x in licensing_selectors.license_summary(scope)
        ]


@pytest.mark.parametrize("target", ["va_devices", "api_va_devices"])
def test_the_device_sql_is_the_first_page_of_the_device_list(world, target):
    params = next(t.sql_params for t in bench.targets(world) if t.name == target)
    rows = _rows("devices", params)

    scope = licensing_selectors.virtual_accounts_in_scope(world.admin, virtual_account=world.busy_virtual_account)
    devices = licensing_selectors.devices(scope)
    page = list(devices[: params["limit"]])
    assert [r[0] for r in rows] == [d.pk for d in page]
    assert {r[6] for r in rows} == {devices.count()} == {30}
    usage = [[[sku, count] for sku, count in (json.loads(r[7]) if isinstance(r[7], str) else r[7] or [])] for r in rows]
    assert usage == [[[u.product.sku, u.count] for u in d.usage.all()] for d in page]


def test_the_order_sql_is_the_partners_order_list(world):
    params = _params(world, "orders")
    rows = _rows("orders", params)

    visible = order_selectors.orders_visible_to(world.partner_admin)
    assert [r[0] for r in rows] == [o.pk for o in visible[: params["limit"]]]
    assert {r[6] for r in rows} == {visible.count()}
    assert 0 < visible.count() < 40  # the stranger's orders without a line held here are not listed


def test_the_held_line_sql_is_the_holding_inbox(world):
    rows = _rows("held_lines", _params(world, "held_lines"))

    held = order_selectors.held_lines_for(world.partner_admin)
    assert [r[0] for r in rows] == [line.pk for line in held[:50]]
    assert {r[12] for r in rows} == {held.count()} and held.count() > 0


def test_the_event_sql_is_the_event_log(world):
    params = _params(world, "events")
    rows = _rows("events", params)

    events = event_log.events(world.big_account, user=world.admin)
    assert [r[0] for r in rows] == [e.pk for e in events[: params["limit"]]]
    assert {r[9] for r in rows} == {events.count()} == {60}


def test_the_virtual_account_sql_is_the_api_tree(world):
    rows = _rows("virtual_accounts", _params(world, "virtual_accounts"))

    tree = virtual_account_tree(world.admin, world.big_account)
    assert [r[0] for r in rows] == [n.va.pk for n in tree]


def test_a_user_without_a_role_gets_no_rows(world):
    outsider = UserFactory()
    for name in ("account_tree", "licenses", "devices", "events", "virtual_accounts", "orders", "held_lines"):
        params = {**_params(world, name), "user": outsider.pk}
        assert _rows(name, params) == [], name


def test_every_target_answers_200_for_its_user(world):
    callers = {"admin": bench.caller_sign_in(world.admin), "partner": bench.caller_sign_in(world.partner_admin)}
    for target in bench.targets(world):
        answer = bench.count_queries("GET", target.path, headers=callers[target.user].headers(target.kind), warm=False)
        assert answer.status == 200 and answer.queries > 0, target.name
    for caller in callers.values():
        bench.caller_sign_out(caller)


def test_the_load_check_finds_a_report_that_was_lost(world):
    va = VirtualAccountFactory(parent=world.big_account.default_virtual_account, name="Load")
    product = ProductFactory()
    EntitlementFactory(virtual_account=va, product=product, quantity=3)
    devices = [DeviceFactory(virtual_account=va) for _ in range(3)]
    DeviceUsageFactory(device=devices[0], product=product, count=2)
    DeviceUsageFactory(device=devices[1], product=product, count=1)
    other = DeviceFactory(virtual_account=va)  # a device of an earlier run, not reporting now
    DeviceUsageFactory(device=other, product=product, count=1)
    since = timezone.now()
    pool = bench.LoadPool(virtual_account=va, product=product, devices=[
        bench.LoadDevice(pk=devices[0].pk, serial="a", secret="", last_acked=2),
        bench.LoadDevice(pk=devices[1].pk, serial="b", secret="", last_acked=0, unacked=[1]),  # sent, no answer
        bench.LoadDevice(pk=devices[2].pk, serial="c", secret="", last_acked=0),
    ])

    checks = bench.load_check(pool, since=since)
    assert (checks["lost_updates"], checks["pool_in_use"], checks["open_shortages"]) == (1, 4, 0)  # in shortage, unrecorded
    ShortageFactory(virtual_account=va, product=product)
    assert bench.load_check(pool, since=since)["lost_updates"] == 0

    pool.devices[2].last_acked = 3  # acknowledged, but not stored
    checks = bench.load_check(pool, since=since)
    assert checks["lost_updates"] == 2 and checks["lost_device_updates"] == [
        {"device": "c", "stored": 0, "last_acknowledged": 3}]


def test_results_are_written_as_json_and_markdown(tmp_path):
    page = {"title": "Event log", "p50_ms": 12.0, "p95_ms": 15.0, "queries": 9, "in_process_db_ms": 3.5, "sql_p50_ms": 4.0, "sql_p95_ms": 5.0,
            "ratio": 3.0, "goal_met": False}
    result = {
        "date": "2026-01-02T03:04:05Z", "git": {"commit": "abc", "dirty": False}, "database": "portal_bench",
        "machine": {"cores": 2, "loadavg_before": [0.1, 0.1, 0.1]}, "dataset": {"devices": 10},
        "server": {"workers": 3}, "settings": {"requests_per_page": 5, "warmup": 1}, "pages": [page],
    }
    written = bench.results_write(result, tmp_path)

    assert sorted(p.name for p in written) == ["20260102T030405.json", "20260102T030405.md", "latest.json", "latest.md"]
    assert json.loads((tmp_path / "latest.json").read_text())["pages"][0]["ratio"] == 3.0
    assert "| Event log | 12.0 | 15.0 | 9 | 3.5 | 4.00 | 5.00 | 3.0 | NO |" in (tmp_path / "latest.md").read_text()
    assert bench.percentile([1, 2, 3, 4], 50) == 2.5
