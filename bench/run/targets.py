"""What is timed: the seeded objects found by the names of bench/dataset.py, and the pages and
endpoints with their bare SQL."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from .. import dataset as D
from .bare_sql import sql_params
from .base import BenchError

@dataclass
class Dataset:
    big_account: Any
    busy_virtual_account: Any
    admin: Any
    partner: Any
    partner_admin: Any
    holding_account: Any
    counts: dict[str, int]


def dataset_find() -> Dataset:
    """The seeded objects, by the names of bench/dataset.py (BenchError naming what is missing)."""
    from accounts.models import Event, Partner, SmartAccount, SmartAccountKind, User, VirtualAccount
    from licensing.models import Device, DeviceUsage, Product
    from orders.models import Order, OrderLine, OrderLineState

    def one(qs, what: str):
        found = qs.first()
        if found is None:
            raise BenchError(f"No {what} in this database: seed it first (manage.py bench_seed).")
        return found

    big = one(SmartAccount.objects.filter(name=D.BIG_ACCOUNT_NAME, kind=SmartAccountKind.CUSTOMER), D.BIG_ACCOUNT_NAME)
    busy = one(VirtualAccount.objects.filter(smart_account=big, name=D.BUSY_VIRTUAL_ACCOUNT_NAME), D.BUSY_VIRTUAL_ACCOUNT_NAME)
    partner = one(Partner.objects.filter(name=D.PARTNER_NAME), D.PARTNER_NAME)
    holding = one(SmartAccount.objects.filter(name=D.HOLDING_ACCOUNT_NAME, kind=SmartAccountKind.HOLDING, partner=partner),
                  D.HOLDING_ACCOUNT_NAME)
    counts = {
        "smart_accounts": SmartAccount.objects.count(),
        "big_account_virtual_accounts": VirtualAccount.objects.filter(smart_account=big).count(),
        "big_account_depth": max(VirtualAccount.objects.filter(smart_account=big).values_list("level", flat=True)),
        "products": Product.objects.count(),
        "devices": Device.objects.count(),
        "usage_rows": DeviceUsage.objects.count(),
        "busy_va_devices": Device.objects.filter(
            virtual_account__tree_id=busy.tree_id, virtual_account__lft__gte=busy.lft, virtual_account__rght__lte=busy.rght
        ).count(),
        "orders": Order.objects.count(),
        "order_lines": OrderLine.objects.count(),
        "partner_orders": Order.objects.filter(partner=partner).count(),
        "held_lines": OrderLine.objects.filter(state=OrderLineState.HELD, smart_account=holding).count(),
        "big_account_events": Event.objects.filter(smart_account=big).count(),
    }
    return Dataset(
        big_account=big, busy_virtual_account=busy,
        admin=one(User.objects.filter(email=D.BIG_ACCOUNT_ADMIN), D.BIG_ACCOUNT_ADMIN),
        partner=partner, partner_admin=one(User.objects.filter(email=D.PARTNER_ADMIN), D.PARTNER_ADMIN),
        holding_account=holding, counts=counts,
    )


# --- what is timed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    title: str
    kind: str  # "page" (session cookie) or "api" (API key)
    path: str
    user: str  # "admin" (SA admin of the big account) or "partner" (partner admin)
    sql: str  # a key of BARE_SQL
    sql_params: dict = field(hash=False)


def targets(ds: Dataset, *, today: datetime.date | None = None) -> list[Target]:
    """The pages and endpoints timed, each with its bare SQL (DESIGN.md §6)."""
    sa, va = ds.big_account.pk, ds.busy_virtual_account.pk
    admin, partner = ds.admin.pk, ds.partner_admin.pk

    def params(name: str, user: int, **kw) -> dict:
        return sql_params(name, user=user, today=today, **kw)

    # Page sizes as the views have them: licensing.views.PER_PAGE / accounts.views.events.EVENTS_PER_PAGE,
    # orders.views.ORDERS_PER_PAGE / LINES_PER_PAGE; the API's PAGE_SIZE (lib.api.Pagination).
    from django.conf import settings

    from accounts.views.events import EVENTS_PER_PAGE
    from licensing.views import PER_PAGE
    from orders.views import LINES_PER_PAGE, ORDERS_PER_PAGE

    api_page = settings.REST_FRAMEWORK["PAGE_SIZE"]
    return [
        Target("account_home", "Account home (VA tree, roll-ups)", "page", f"/sa/{sa}/", "admin", "account_tree",
               params("account_tree", admin, smart_account=sa)),
        Target("va_licenses", "VA license table", "page", f"/licensing/va/{va}/licenses/", "admin", "licenses",
               params("licenses", admin, virtual_account=va)),
        Target("va_devices", "VA device list", "page", f"/licensing/va/{va}/devices/", "admin", "devices",
               params("devices", admin, virtual_account=va, limit=PER_PAGE)),
        Target("order_list", "Order list (partner)", "page", "/orders/", "partner", "orders",
               params("orders", partner, limit=ORDERS_PER_PAGE)),
        Target("holding_inbox", "Holding-account inbox", "page", "/orders/holding/", "partner", "held_lines",
               params("held_lines", partner, limit=LINES_PER_PAGE)),
        Target("event_log", "Event log", "page", f"/licensing/sa/{sa}/events/", "admin", "events",
               params("events", admin, smart_account=sa, limit=EVENTS_PER_PAGE)),
        Target("api_virtual_accounts", "API: account's VAs", "api", f"/api/v1/smart-accounts/{sa}/virtual-accounts/",
               "admin", "virtual_accounts", params("virtual_accounts", admin, smart_account=sa, limit=api_page)),
        Target("api_va_licenses", "API: VA licenses", "api", f"/api/v1/virtual-accounts/{va}/licenses/?subtree=1",
               "admin", "licenses", params("licenses", admin, virtual_account=va)),
        Target("api_va_devices", "API: VA devices", "api", f"/api/v1/virtual-accounts/{va}/devices/?subtree=1",
               "admin", "devices", params("devices", admin, virtual_account=va, limit=api_page)),
        Target("api_orders", "API: orders (partner)", "api", "/api/v1/orders/", "partner", "orders",
               params("orders", partner, limit=api_page)),
        Target("api_events", "API: event log", "api", f"/api/v1/smart-accounts/{sa}/events/", "admin", "events",
               params("events", admin, smart_account=sa, limit=api_page)),
    ]
