"""The timer of DESIGN.md §6: the key pages and API endpoints timed on a real gunicorn server on
loopback, each next to the bare SQL (psycopg) that answers the same question, in the same run;
then device usage reporting under concurrent load, next to a trivial endpoint of the same server
behind the same middleware and device authentication, with the totals checked afterwards.

`run()` is called by `manage.py bench_run` against a database the seeder (`manage.py bench_seed`)
filled; it finds the objects by the names of `bench/dataset.py`. Results go to
`<out_dir>/latest.{json,md}` and a dated copy, so that runs can be compared.

How it measures, and why so:
- Pages: one client, sequential requests (warm-up first) → p50/p95 of the wall time from sending
  the request to the last byte. The server runs with production settings (DEBUG off, manifest
  static files, persistent DB connections); the runner signs its users in by making a session in
  the database (the server shares the runner's SECRET_KEY, so it accepts it), API endpoints are
  called with a personal API key (`accounts.services.api_key_create`), as API clients do.
- Queries per request: counted in this process with Django's test client (same URL, same user,
  same database) under `CaptureQueriesContext`: the timed server never runs with DEBUG on.
- Bare SQL: one psycopg connection (autocommit, no server-side prepared statements — as Django
  uses psycopg), each statement executed N times with all rows fetched. Each statement answers
  the page's question for the benchmark's users (who hold a Smart Account role or are partner
  admins), checks the right to see it, and counts what the page counts; see `BARE_SQL`.
- Usage load: `clients` threads, each reporting absolute usage counts for its own device (one
  device per thread, so that the last acknowledged report of each device is known) for a bounded
  time; then the same threads against `GET /api/v1/devices/{id}/ping/` (the same device
  authentication, no business logic). Ratio = usage req/s ÷ ping req/s.
"""
from __future__ import annotations

import datetime
import http.client
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench import dataset as D

ROOT = Path(__file__).resolve().parent.parent

PAGE_RATIO_GOAL = 2.0  # page p50 ÷ bare SQL p50 at most
USAGE_RATIO_GOAL = 0.5  # usage req/s ÷ trivial req/s at least

LOAD_VIRTUAL_ACCOUNT_NAME = "Bench Load VA"  # made below the big account's root, reused by later runs
LOAD_SERIAL_PREFIX = "BENCH-LOAD-"
LOAD_MAX_COUNT = 4  # each report: a count of 0..4 of one product (0 drops the row)


class BenchError(RuntimeError):
    """The run cannot go on (no dataset, not PostgreSQL, the server did not start, …)."""


# --- the bare SQL -----------------------------------------------------------------------------
#
# Each statement answers the question its page answers, for the benchmark's users, in one round
# trip: the rows the page shows (its first page, in its order) and what it counts (the pagers'
# totals). Each includes the caller's right to see the data (an SA role on the account; for the
# partner pages, the partner and holding-account memberships), as the page checks it. What a page
# shows besides its main table (navigation, filter choices, buttons that depend on finer rights)
# is not in the SQL: that is the page's overhead the ratio is meant to show.

SA_ROLE = """EXISTS (
    SELECT 1 FROM accounts_smartaccountrole r JOIN auth_permission p ON p.id = r.permission_id
    WHERE r.user_id = %(user)s AND r.content_object_id = {sa}
      AND p.codename IN ('sa_admin', 'sa_user', 'sa_viewer'))"""

ACTIVE_ENTITLEMENT = """e.quantity > 0 AND (e.starts_on IS NULL OR e.starts_on <= %(today)s)
      AND (e.ends_on IS NULL OR e.ends_on >= %(today)s)"""

# Holding accounts the user may move lines out of: a member, or an admin of its partner.
HOLDING_ACCOUNTS = """SELECT h.id FROM accounts_smartaccount h
    WHERE h.kind = 'holding' AND (
        EXISTS (SELECT 1 FROM accounts_holdingmembership m WHERE m.smart_account_id = h.id AND m.user_id = %(user)s)
        OR EXISTS (SELECT 1 FROM accounts_partnermembership pm
                   WHERE pm.partner_id = h.partner_id AND pm.user_id = %(user)s AND pm.is_admin))"""

BARE_SQL: dict[str, str] = {
    # Account home (/sa/{id}/): every Virtual Account of the account in tree order with its own
    # active licenses (entitlement quantities), devices and products in shortage, and the
    # licenses and devices of its whole subtree. The roll-up walks each VA's own counts up its
    # ancestors (a recursive CTE over parent ids: as many steps as the tree is deep) rather than
    # joining every VA with every VA of its lft/rght range (quadratic on a 2,000-VA tree). The
    # aggregates join the account's VAs by table, not by CTE: on a CTE PostgreSQL guesses row
    # counts (a billion here) and then spends seconds JIT-compiling the plan.
    "account_tree": f"""
WITH RECURSIVE own AS MATERIALIZED (
    SELECT v.id, v.parent_id, v.name, v.tree_id, v.lft, v.level,
           COALESCE(lic.quantity, 0) AS licenses, COALESCE(dev.n, 0) AS devices, COALESCE(sh.n, 0) AS shortages
    FROM accounts_virtualaccount v
    LEFT JOIN (SELECT e.virtual_account_id, SUM(e.quantity) AS quantity FROM licensing_entitlement e
               JOIN accounts_virtualaccount ev ON ev.id = e.virtual_account_id
               WHERE ev.smart_account_id = %(sa)s AND {ACTIVE_ENTITLEMENT}
               GROUP BY e.virtual_account_id) lic ON lic.virtual_account_id = v.id
    LEFT JOIN (SELECT d.virtual_account_id, COUNT(*) AS n FROM licensing_device d
               JOIN accounts_virtualaccount dv ON dv.id = d.virtual_account_id
               WHERE dv.smart_account_id = %(sa)s GROUP BY d.virtual_account_id) dev ON dev.virtual_account_id = v.id
    LEFT JOIN (SELECT s.virtual_account_id, COUNT(*) AS n FROM licensing_shortage s
               JOIN accounts_virtualaccount sv ON sv.id = s.virtual_account_id
               WHERE sv.smart_account_id = %(sa)s AND s.cleared_at IS NULL
               GROUP BY s.virtual_account_id) sh ON sh.virtual_account_id = v.id
    WHERE v.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
), up AS (
    SELECT own.id AS ancestor, own.parent_id AS next, own.licenses, own.devices FROM own
    UNION ALL
    SELECT p.id, p.parent_id, up.licenses, up.devices FROM up JOIN accounts_virtualaccount p ON p.id = up.next
)
SELECT own.id, own.parent_id, own.name, own.level, own.licenses, own.devices, own.shortages,
       sub.licenses AS subtree_licenses, sub.devices AS subtree_devices
FROM own JOIN (SELECT ancestor, SUM(licenses) AS licenses, SUM(devices) AS devices FROM up GROUP BY ancestor) sub
     ON sub.ancestor = own.id
ORDER BY own.tree_id, own.lft
""",
    # A VA's license table (/licensing/va/{id}/licenses/, and the API's ?subtree=1): per product
    # over the VA and its subtree, purchased (active entitlements) and in use (devices' usage),
    # with available and shortage added up per VA (each VA's pool is its own), in family/SKU order.
    "licenses": f"""
WITH scope AS (
    SELECT v.id FROM accounts_virtualaccount v JOIN accounts_virtualaccount top ON top.id = %(va)s
    WHERE v.smart_account_id = top.smart_account_id AND v.tree_id = top.tree_id
      AND v.lft >= top.lft AND v.rght <= top.rght AND {SA_ROLE.format(sa="top.smart_account_id")}
), purchased AS (
    SELECT e.virtual_account_id AS va, e.product_id AS product, SUM(e.quantity) AS n FROM licensing_entitlement e
    WHERE e.virtual_account_id IN (SELECT id FROM scope) AND {ACTIVE_ENTITLEMENT}
    GROUP BY 1, 2
), in_use AS (
    SELECT d.virtual_account_id AS va, u.product_id AS product, SUM(u.count) AS n
    FROM licensing_deviceusage u JOIN licensing_device d ON d.id = u.device_id
    WHERE d.virtual_account_id IN (SELECT id FROM scope) AND u.count > 0
    GROUP BY 1, 2
), pools AS (
    SELECT COALESCE(p.product, i.product) AS product, COALESCE(p.n, 0) AS purchased, COALESCE(i.n, 0) AS in_use
    FROM purchased p FULL JOIN in_use i ON i.va = p.va AND i.product = p.product
)
SELECT pr.id, pr.sku, pr.name, pr.family, SUM(pools.purchased) AS purchased, SUM(pools.in_use) AS in_use,
       SUM(GREATEST(pools.purchased - pools.in_use, 0)) AS available, SUM(GREATEST(pools.in_use - pools.purchased, 0)) AS shortage
FROM pools JOIN licensing_product pr ON pr.id = pools.product
GROUP BY pr.id
ORDER BY pr.family, pr.sku
""",
    # A VA's device list (/licensing/va/{id}/devices/, and the API's ?subtree=1): the first page
    # of the devices of the VA and its subtree by serial number, each with its VA's name and its
    # usage per product, and how many devices there are (the pager's total).
    "devices": f"""
WITH scope AS (
    SELECT v.id, v.name FROM accounts_virtualaccount v JOIN accounts_virtualaccount top ON top.id = %(va)s
    WHERE v.smart_account_id = top.smart_account_id AND v.tree_id = top.tree_id
      AND v.lft >= top.lft AND v.rght <= top.rght AND {SA_ROLE.format(sa="top.smart_account_id")}
), page AS (
    SELECT d.id, d.serial_number, d.hostname, d.product_id, d.last_contact_at, d.virtual_account_id
    FROM licensing_device d WHERE d.virtual_account_id IN (SELECT id FROM scope)
    ORDER BY d.serial_number, d.id LIMIT %(limit)s
)
SELECT page.id, page.serial_number, page.hostname, page.product_id, page.last_contact_at, scope.name,
       (SELECT COUNT(*) FROM licensing_device d WHERE d.virtual_account_id IN (SELECT id FROM scope)) AS total,
       (SELECT json_agg(json_build_array(pr.sku, u.count) ORDER BY pr.sku)
        FROM licensing_deviceusage u JOIN licensing_product pr ON pr.id = u.product_id
        WHERE u.device_id = page.id AND u.count > 0) AS usage
FROM page JOIN scope ON scope.id = page.virtual_account_id
ORDER BY page.serial_number, page.id
""",
    # The order list (/orders/, /api/v1/orders/) of a partner user: the first page of the orders
    # they may see (their partner's, those naming it as reseller, a distributor's linked
    # resellers', those with a line in their holding accounts), newest first, each with its
    # partner and its lines (product, account), and how many orders there are.
    "orders": f"""
WITH mine AS (
    SELECT pm.partner_id FROM accounts_partnermembership pm WHERE pm.user_id = %(user)s
), resellers AS (
    SELECT l.to_partner_id FROM accounts_partner_linked_resellers l JOIN accounts_partner p ON p.id = l.from_partner_id
    WHERE l.from_partner_id IN (SELECT partner_id FROM mine) AND p.kind = 'distributor'
), holding AS ({HOLDING_ACCOUNTS}
), visible AS (
    SELECT o.id, o.placed_at FROM orders_order o
    WHERE o.partner_id IN (SELECT partner_id FROM mine) OR o.reseller_id IN (SELECT partner_id FROM mine)
       OR o.partner_id IN (SELECT to_partner_id FROM resellers)
       OR EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id
                  AND (l.smart_account_id IN (SELECT id FROM holding) OR l.held_in_id IN (SELECT id FROM holding)))
), page AS (
    SELECT id FROM visible ORDER BY placed_at DESC, id DESC LIMIT %(limit)s
)
SELECT o.id, o.number, o.placed_at, o.end_customer_name, o.end_customer_email, pa.name AS partner,
       (SELECT COUNT(*) FROM visible) AS total,
       (SELECT json_agg(json_build_array(l.number, l.quantity, pr.sku, l.state, sa.name) ORDER BY l.number)
        FROM orders_orderline l JOIN licensing_product pr ON pr.id = l.product_id
        LEFT JOIN accounts_smartaccount sa ON sa.id = l.smart_account_id
        WHERE l.order_id = o.id) AS lines
FROM page JOIN orders_order o ON o.id = page.id JOIN accounts_partner pa ON pa.id = o.partner_id
ORDER BY o.placed_at DESC, o.id DESC
""",
    # The holding-account inbox (/orders/holding/): the first page of the lines held in the
    # holding accounts the user may move lines out of, by account name and newest order first,
    # each with its order number, product and account, and how many lines are held.
    "held_lines": f"""
WITH holding AS ({HOLDING_ACCOUNTS}
), held AS (
    SELECT l.id FROM orders_orderline l WHERE l.state = 'held' AND l.smart_account_id IN (SELECT id FROM holding)
)
SELECT l.id, o.number, l.number, pr.sku, pr.name, pr.term_months, l.quantity, l.shipped_on, l.starts_on, l.ends_on,
       sa.name AS holding_account, pa.name AS partner, (SELECT COUNT(*) FROM held) AS total
FROM orders_orderline l
JOIN orders_order o ON o.id = l.order_id
JOIN licensing_product pr ON pr.id = l.product_id
JOIN accounts_smartaccount sa ON sa.id = l.smart_account_id
JOIN accounts_partner pa ON pa.id = o.partner_id
WHERE l.id IN (SELECT id FROM held)
ORDER BY sa.name, o.placed_at DESC, o.id, l.number
LIMIT %(limit)s
""",
    # The event log of an account (/licensing/sa/{id}/events/, /api/v1/smart-accounts/{id}/events/):
    # the first page of its events, newest first, with their VA's name, and how many there are.
    "events": f"""
SELECT e.id, e.created_at, e.action, e.actor_label, e.object_type, e.object_id, e.object_repr, e.detail, v.name,
       (SELECT COUNT(*) FROM accounts_event c WHERE c.smart_account_id = %(sa)s) AS total
FROM accounts_event e LEFT JOIN accounts_virtualaccount v ON v.id = e.virtual_account_id
WHERE e.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
ORDER BY e.created_at DESC, e.id DESC
LIMIT %(limit)s
""",
    # The account's Virtual Accounts as a flat list (/api/v1/smart-accounts/{id}/virtual-accounts/):
    # the first page in tree order, and how many there are.
    "virtual_accounts": f"""
SELECT v.id, v.name, v.description, v.parent_id, v.level, v.created_at,
       (SELECT COUNT(*) FROM accounts_virtualaccount c WHERE c.smart_account_id = %(sa)s) AS total
FROM accounts_virtualaccount v
WHERE v.smart_account_id = %(sa)s AND {SA_ROLE.format(sa="%(sa)s")}
ORDER BY v.tree_id, v.lft
LIMIT %(limit)s
""",
}


def sql_params(name: str, *, user: int, smart_account: int | None = None, virtual_account: int | None = None,
               limit: int | None = None, today: datetime.date | None = None) -> dict:
    """The parameters of a BARE_SQL statement (those it does not name are left out)."""
    from django.utils import timezone

    params = {"user": user, "sa": smart_account, "va": virtual_account, "limit": limit,
              "today": today or timezone.localdate()}
    return {key: value for key, value in params.items() if f"%({key})s" in BARE_SQL[name]}


# --- the dataset ------------------------------------------------------------------------------


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

    # Page sizes as the views have them: licensing.views.PER_PAGE / EVENTS_PER_PAGE,
    # orders.views.ORDERS_PER_PAGE / LINES_PER_PAGE; the API's PAGE_SIZE (lib.api.Pagination).
    from django.conf import settings

    from licensing.views import EVENTS_PER_PAGE, PER_PAGE
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


# --- statistics -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- the server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(*, database_url: str, static_root: Path, broker_url: str | None, pg_options: str | None = None) -> dict[str, str]:
    """Production-like settings (portal/settings.py reads them): DEBUG off, manifest static files
    served by WhiteNoise, persistent DB connections, the runner's SECRET_KEY (so that the sessions
    it makes are good). Without a broker Celery runs tasks eagerly and mail goes nowhere."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if key not in {"CELERY_BROKER_URL", "REDIS_URL", "DEBUG"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONUNBUFFERED": "1",
    })
    if pg_options:
        env["PGOPTIONS"] = pg_options  # libpq reads it: e.g. "-c jit=off" for every connection of the server
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
        env["CELERY_TASK_DEFAULT_QUEUE"] = f"bench-{os.getpid()}"
    return env


class Server:
    """gunicorn serving portal.wsgi on a free loopback port, sync workers."""

    def __init__(self, *, env: dict[str, str], workers: int, workdir: Path) -> None:
        self.env, self.workers, self.workdir = env, workers, workdir
        self.port = _free_port()
        self.log = workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=ROOT, env=self.env, check=True,
        )
        command = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--worker-class", "sync", "--backlog", "2048", "--timeout", "120",
            "--log-level", "warning",
        ]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                status, _ = request(self.port, "GET", "/accounts/login/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not answer within {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


BASE_HEADERS = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https"}  # behind a TLS-terminating proxy


def request(port: int, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 120) -> tuple[int, bytes]:
    """One request on a new connection (gunicorn's sync workers close each one); (status, body).
    A redirect answers its Location as the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={**BASE_HEADERS, **(headers or {})})
        response = conn.getresponse()
        content = response.read()
        if 300 <= response.status < 400:
            content = f"redirect to {response.getheader('Location')}".encode()
        return response.status, content
    finally:
        conn.close()


# --- signing in -------------------------------------------------------------------------------


@dataclass
class Caller:
    """How a user calls: the session cookie (pages) and an API key (API)."""

    user: Any
    session_key: str
    api_key: str
    api_key_id: int

    def headers(self, kind: str) -> dict[str, str]:
        from django.conf import settings

        if kind == "api":
            return {"Authorization": f"Bearer {self.api_key}"}
        return {"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}"}


def caller_sign_in(user) -> Caller:
    from django.conf import settings
    from django.test import Client

    from accounts import services as account_services

    client = Client()
    client.force_login(user)
    key, raw = account_services.api_key_create(user=user, name="bench run")
    return Caller(user=user, session_key=client.cookies[settings.SESSION_COOKIE_NAME].value, api_key=raw,
                  api_key_id=key.pk)


def caller_sign_out(caller: Caller) -> None:
    from django.contrib.sessions.models import Session

    from accounts.models import ApiKey

    Session.objects.filter(session_key=caller.session_key).delete()
    ApiKey.objects.filter(pk=caller.api_key_id).delete()


# --- queries per request, in this process ----------------------------------------------------


def _in_process_settings():
    """What the in-process test client needs whatever this process's settings are: any host,
    plain static files (no manifest to look up), no redirect to https."""
    from django.test.utils import override_settings

    return override_settings(
        ALLOWED_HOSTS=["*"], SECURE_SSL_REDIRECT=False,
        STORAGES={"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                  "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
    )


@dataclass
class InProcess:
    """One request through the Django test client in this process: its status, its queries,
    and where its time went (the queries' time as the database driver saw it; the rest is
    Python: middleware, ORM, templates or serializers)."""

    status: int
    queries: int
    total_ms: float
    db_ms: float


def count_queries(method: str, path: str, *, headers: dict[str, str], body: bytes | None = None,
                  warm: bool = True, profile_to: Path | None = None) -> InProcess:
    """One request through the Django test client, in this process, against the same database,
    its queries counted; with `warm`, sent once before to fill the caches (content types, site).
    `profile_to`: also write a cProfile of three more requests there (cumulative, top 60)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items() if name != "Cookie"}
    client = Client()
    if "Cookie" in headers:
        name, _, value = headers["Cookie"].partition("=")
        client.cookies[name] = value
    kwargs = {"data": body, "content_type": "application/json"} if body is not None else {}
    with _in_process_settings():
        if warm:
            client.generic(method, path, **kwargs, **extra)
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.generic(method, path, **kwargs, **extra)
            total = time.perf_counter() - started
        if profile_to is not None:
            import cProfile
            import io
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(3):
                client.generic(method, path, **kwargs, **extra)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
            profile_to.parent.mkdir(parents=True, exist_ok=True)
            profile_to.write_text(f"{method} {path}: three requests\n\n{out.getvalue()}")
    db = sum(float(q.get("time") or 0) for q in ctx.captured_queries)
    return InProcess(status=response.status_code, queries=len(ctx.captured_queries), total_ms=_ms(total), db_ms=_ms(db))


# --- timing -----------------------------------------------------------------------------------


def time_http(port: int, path: str, headers: dict[str, str], *, n: int, warmup: int) -> dict:
    status, size, samples = 0, 0, []
    for i in range(warmup + n):
        started = time.perf_counter()
        status, body = request(port, "GET", path, headers=headers)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        size = len(body)
        if i >= warmup:
            samples.append(elapsed)
    return {"status": status, "bytes": size, "p50_ms": _ms(percentile(samples, 50)), "p95_ms": _ms(percentile(samples, 95))}


def time_sql(conn, sql: str, params: dict, *, n: int, warmup: int) -> dict:
    samples, rows = [], []
    with conn.cursor() as cursor:
        for i in range(warmup + n):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            elapsed = time.perf_counter() - started
            if i >= warmup:
                samples.append(elapsed)
    return {"rows": len(rows), "p50_ms": _ms(percentile(samples, 50)), "p95_ms": _ms(percentile(samples, 95))}


def sql_connect(database_url: str, pg_options: str | None = None):
    import psycopg

    # As Django uses psycopg: autocommit, no server-side prepared statements; the same
    # PostgreSQL options as the server's connections.
    extra = {"options": pg_options} if pg_options else {}
    return psycopg.connect(database_url, autocommit=True, prepare_threshold=None, **extra)


# --- the usage load ---------------------------------------------------------------------------


@dataclass
class LoadDevice:
    pk: int
    serial: str
    secret: str
    last_acked: int | None = None  # the count of the last report answered 200
    unacked: list[int] = field(default_factory=list)  # counts sent after it without an answer


@dataclass
class LoadPool:
    virtual_account: Any
    product: Any
    devices: list[LoadDevice]


def load_pool_prepare(ds: Dataset, port: int, clients: int) -> LoadPool:
    """A VA of the big account (made once, reused) with an entitlement for one product, and
    `clients` devices registered into it through the real endpoint (a serial registered before
    gets a new secret: the same device)."""
    from accounts import services as account_services
    from accounts.models import VirtualAccount
    from licensing import services as licensing_services
    from licensing.models import Entitlement, EntitlementSource, LicenseKind, Product

    root = ds.big_account.default_virtual_account or VirtualAccount.objects.get(
        smart_account=ds.big_account, parent__isnull=True)
    va = VirtualAccount.objects.filter(parent=root, name=LOAD_VIRTUAL_ACCOUNT_NAME).first()
    if va is None:
        va = account_services.virtual_account_create(parent=root, name=LOAD_VIRTUAL_ACCOUNT_NAME, actor=None,
                                                     description="Devices of the usage load test (bench/run.py).")
    product = Product.objects.filter(license_kind=LicenseKind.SMART, is_active=True).order_by("sku").first()
    if product is None:
        raise BenchError("No smart product in the catalogue.")
    # The pool holds what the devices use on average: reports cross into and out of shortage.
    wanted = clients * LOAD_MAX_COUNT // 2
    held = sum(Entitlement.objects.filter(virtual_account=va, product=product).values_list("quantity", flat=True))
    if held < wanted:
        licensing_services.entitlement_deposit(virtual_account=va, product=product, quantity=wanted - held,
                                               source=EntitlementSource.MANUAL, source_ref="bench load")
    _, token = licensing_services.token_create(virtual_account=va, description="bench load", expires_in_days=1, actor=None)
    devices = []
    for i in range(clients):
        serial = f"{LOAD_SERIAL_PREFIX}{i + 1:04d}"
        body = json.dumps({"token": token, "serial_number": serial, "hostname": f"load-{i + 1}.bench"}).encode()
        status, answer = request(port, "POST", "/api/v1/devices/register/", body=body,
                                 headers={"Content-Type": "application/json"})
        if status not in (200, 201):
            raise BenchError(f"Registering {serial} answered {status}: {answer[:300]!r}")
        data = json.loads(answer)
        devices.append(LoadDevice(pk=data["device_id"], serial=serial, secret=data["device_secret"]))
    from licensing.models import DeviceUsage

    current = dict(DeviceUsage.objects.filter(device__in=[d.pk for d in devices], product=product)
                   .values_list("device_id", "count"))
    for device in devices:
        device.last_acked = current.get(device.pk, 0)
    return LoadPool(virtual_account=va, product=product, devices=devices)


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot (Linux), to tell how busy the machine was."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def load_run(port: int, pool: LoadPool, *, seconds: float, make_request: Callable[[LoadDevice, random.Random], tuple],
             on_answer: Callable[[LoadDevice, Any, int], None] | None = None) -> dict:
    """One thread per device, each sending requests back to back for `seconds`; the requests
    answered within the time are counted (one in flight at the end finishes, uncounted)."""
    barrier = threading.Barrier(len(pool.devices) + 1)
    ok = [0] * len(pool.devices)
    failed = [0] * len(pool.devices)
    failures: dict[str, int] = {}  # status or exception → how many
    failure_sample: dict[str, str] = {}
    latencies: list[list[float]] = [[] for _ in pool.devices]
    window: dict[str, float] = {}

    def client(index: int, device: LoadDevice) -> None:
        rng = random.Random(device.pk * 7919 + index)
        barrier.wait()
        while True:
            now = time.perf_counter()
            if now >= window["end"]:
                return
            method, path, headers, body, payload = make_request(device, rng)
            if on_answer is not None:
                device.unacked.append(payload)
            started = time.perf_counter()
            try:
                status, answer = request(port, method, path, headers=headers, body=body, timeout=60)
            except OSError as exc:
                failed[index] += 1
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                continue
            done = time.perf_counter()
            if status in (200, 204):
                if on_answer is not None:
                    on_answer(device, payload, status)
                if done <= window["end"]:
                    ok[index] += 1
                    latencies[index].append(done - started)
            else:
                failed[index] += 1
                failures[str(status)] = failures.get(str(status), 0) + 1
                failure_sample.setdefault(str(status), answer[:300].decode(errors="replace"))

    threads = [threading.Thread(target=client, args=(i, d), daemon=True) for i, d in enumerate(pool.devices)]
    for thread in threads:
        thread.start()
    busy0, total0 = _cpu_times()
    cpu0 = time.process_time()
    window["start"] = time.perf_counter()
    window["end"] = window["start"] + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    busy1, total1 = _cpu_times()
    flat = [x for per in latencies for x in per]
    return {
        "requests": sum(ok), "failed": sum(failed), "failures": failures, "failure_samples": failure_sample,
        "seconds": seconds,
        "rps": round(sum(ok) / seconds, 1),
        "p50_ms": _ms(percentile(flat, 50)), "p95_ms": _ms(percentile(flat, 95)),
        "machine_cpu_busy_percent": round(100 * (busy1 - busy0) / (total1 - total0), 1) if total1 > total0 else None,
        "client_cpu_seconds": round(time.process_time() - cpu0, 2),
    }


def _usage_request(pool: LoadPool):
    sku = pool.product.sku

    def make(device: LoadDevice, rng: random.Random):
        count = rng.randint(0, LOAD_MAX_COUNT)
        body = json.dumps({"usage": [{"sku": sku, "count": count}]}).encode()
        headers = {"Authorization": f"Bearer {device.secret}", "Content-Type": "application/json"}
        return "POST", f"/api/v1/devices/{device.pk}/usage/", headers, body, count

    return make


def _acknowledge(device: LoadDevice, count: int, status: int) -> None:
    # Requests of one device go one after another: an answer acknowledges the last one sent.
    device.last_acked = count
    device.unacked.clear()


def _ping_request(device: LoadDevice, rng: random.Random):
    return "GET", f"/api/v1/devices/{device.pk}/ping/", {"Authorization": f"Bearer {device.secret}"}, None, None


def load_check(pool: LoadPool, *, since: datetime.datetime) -> dict:
    """After the load: each device's usage row holds its last acknowledged report (or one sent
    after it that got no answer), the pool's in-use total is their sum, and the pool's shortage
    record agrees with it (one open shortage exactly when in use exceeds purchased; the shortages
    of the run never overlap)."""
    from licensing.models import DeviceUsage, Shortage
    from licensing.selectors import pool_position

    # Every device of the pool: this run's, and those an earlier run with more clients left there.
    rows = dict(DeviceUsage.objects.filter(device__virtual_account=pool.virtual_account, product=pool.product)
                .values_list("device_id", "count"))
    lost = []
    expected_in_use = sum(count for pk, count in rows.items() if pk not in {d.pk for d in pool.devices})
    for device in pool.devices:
        stored = rows.get(device.pk, 0)
        if stored != device.last_acked and stored not in device.unacked:
            lost.append({"device": device.serial, "stored": stored, "last_acknowledged": device.last_acked})
        expected_in_use += stored if stored in device.unacked else device.last_acked
    position = pool_position(pool.virtual_account, pool.product)
    open_shortages = list(Shortage.objects.filter(virtual_account=pool.virtual_account, product=pool.product,
                                                  cleared_at__isnull=True))
    shortages = list(Shortage.objects.filter(virtual_account=pool.virtual_account, product=pool.product,
                                             started_at__gte=since).order_by("started_at", "pk"))
    overlapping = sum(
        1 for a, b in zip(shortages, shortages[1:]) if a.cleared_at is None or a.cleared_at > b.started_at
    )
    checks = {
        "devices_checked": len(pool.devices),
        "lost_device_updates": lost,
        "pool_in_use": position.in_use,
        "sum_of_acknowledged_reports": expected_in_use,
        "pool_purchased": position.purchased,
        "open_shortages": len(open_shortages),
        "open_shortage_expected": position.in_use > position.purchased,
        "shortages_started_during_run": len(shortages),
        "overlapping_shortages": overlapping,
    }
    pool_wrong = (
        position.in_use != expected_in_use
        or len(open_shortages) != (1 if position.in_use > position.purchased else 0)
        or overlapping
    )
    checks["lost_updates"] = len(lost) + (1 if pool_wrong else 0)
    return checks


# --- output -----------------------------------------------------------------------------------


def _git_commit() -> dict:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    # "its queries ms": the page's own queries' time, measured in-process (one request): what of
    # the page's time is spent in the database, next to the bare SQL's.
    header = ["page / endpoint", "p50 ms", "p95 ms", "queries", "its queries ms", "SQL p50 ms", "SQL p95 ms", "ratio",
              f"≤ {PAGE_RATIO_GOAL:g}"]
    rows = [
        [f"{p['title']}", _fmt(p["p50_ms"]), _fmt(p["p95_ms"]), _fmt(p["queries"]), _fmt(p.get("in_process_db_ms")),
         _fmt(p["sql_p50_ms"], 2), _fmt(p["sql_p95_ms"], 2), _fmt(p["ratio"]), "yes" if p["goal_met"] else "NO"]
        for p in result["pages"]
    ]
    return header, rows


def render_text(result: dict) -> str:
    header, rows = table_rows(result)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    out = [line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]]
    u = result.get("usage")
    if u:
        out += [
            "",
            f"usage reports: {u['usage']['rps']} req/s (p50 {u['usage']['p50_ms']} ms, {u['usage_queries']} queries)  "
            f"trivial (ping): {u['trivial']['rps']} req/s (p50 {u['trivial']['p50_ms']} ms, {u['trivial_queries']} queries)",
            f"ratio {u['ratio']} (goal ≥ {USAGE_RATIO_GOAL:g}: {'met' if u['goal_met'] else 'MISSED'}); "
            f"{u['clients']} clients × {u['seconds']:g} s, {u['workers']} workers; lost updates: {u['lost_updates']}; "
            f"failed requests: {u['usage']['failed'] + u['trivial']['failed']}; "
            f"shortages started: {u['checks']['shortages_started_during_run']}",
        ]
    return "\n".join(out)


def render_markdown(result: dict) -> str:
    header, rows = table_rows(result)
    m = result["machine"]
    ds = result["dataset"]
    out = [
        f"# Benchmark {result['date']}",
        "",
        f"Commit `{result['git']['commit'][:12]}`{' (dirty)' if result['git']['dirty'] else ''}, database "
        f"`{result['database']}`, {m['cores']} cores, load average before {m['loadavg_before']}, "
        f"gunicorn {result['server']['workers']} sync workers"
        + (f", PostgreSQL options `{result['server']['pg_options']}`" if result["server"].get("pg_options") else "")
        + f"; {result['settings']['requests_per_page']} timed requests per page after {result['settings']['warmup']} "
        f"warm-up. \"its queries ms\": the page's own queries' time, measured in-process on one request.",
        "",
        "Dataset: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in ds.items()) + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        *["| " + " | ".join(r) + " |" for r in rows],
    ]
    u = result.get("usage")
    if u:
        out += [
            "",
            "| usage load | req/s | p50 ms | p95 ms | queries | failed |",
            "|---|---:|---:|---:|---:|---:|",
            f"| usage reports (POST …/usage/) | {u['usage']['rps']} | {u['usage']['p50_ms']} | {u['usage']['p95_ms']} | "
            f"{u['usage_queries']} | {u['usage']['failed']} |",
            f"| trivial (GET …/ping/) | {u['trivial']['rps']} | {u['trivial']['p50_ms']} | {u['trivial']['p95_ms']} | "
            f"{u['trivial_queries']} | {u['trivial']['failed']} |",
            "",
            f"Ratio {u['ratio']} (goal ≥ {USAGE_RATIO_GOAL:g}: {'met' if u['goal_met'] else '**missed**'}), "
            f"{u['clients']} clients × {u['seconds']:g} s; lost updates **{u['lost_updates']}**; "
            f"shortages started during the run {u['checks']['shortages_started_during_run']}; "
            f"machine CPU busy {u['usage']['machine_cpu_busy_percent']} % (usage) / "
            f"{u['trivial']['machine_cpu_busy_percent']} % (trivial).",
        ]
    return "\n".join(out) + "\n"


def results_write(result: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["date"].replace(":", "").replace("-", "")[:15]  # 20250101T120000
    written = []
    text_json = json.dumps(result, indent=2, default=str) + "\n"
    text_md = render_markdown(result)
    for stem in ("latest", stamp):
        for suffix, text in ((".json", text_json), (".md", text_md)):
            path = out_dir / f"{stem}{suffix}"
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            written.append(path)
    return written


# --- the run ----------------------------------------------------------------------------------


def _check_database(database_url: str) -> str:
    """This process must talk to the database it times (the query counts are taken here)."""
    import dj_database_url
    from django.db import connection

    wanted = dj_database_url.parse(database_url)
    have = connection.settings_dict
    if connection.vendor != "postgresql" or not wanted["ENGINE"].endswith("postgresql"):
        raise BenchError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://… for the command.")
    same = (wanted["NAME"], wanted.get("HOST") or "", str(wanted.get("PORT") or "")) == (
        have["NAME"], have.get("HOST") or "", str(have.get("PORT") or ""))
    if not same:
        raise BenchError(f"DATABASE_URL of this process ({have['NAME']}) is not the database to time ({wanted['NAME']}).")
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise BenchError(f"{have['NAME']} has unapplied migrations: run manage.py migrate first.")
    return have["NAME"]


def default_workers() -> int:
    """Sync workers: one per core plus one, so that a worker waiting on PostgreSQL leaves the
    core to another (PostgreSQL and the load clients share the same cores)."""
    return (os.cpu_count() or 1) + 1


def run(
    *,
    database_url: str,
    out_dir: str | Path,
    requests_per_page: int = 30,
    warmup: int = 3,
    load_seconds: float = 10,
    clients: int = 32,
    workers: int | None = None,
    broker_url: str | None = None,
    only: list[str] | None = None,
    skip_load: bool = False,
    profile: bool = False,
    pg_options: str | None = None,
    stdout: TextIO = sys.stdout,
) -> dict:
    """Time every target and the usage load; write `<out_dir>/latest.{json,md}` and a dated copy;
    return the result. `only`: names of targets to time (default all); `profile`: write a cProfile
    of each target that misses its goal to `<out_dir>/profiles/<name>.txt` (in this process);
    `pg_options`: PostgreSQL options for the server's and the bare SQL's connections (e.g.
    "-c jit=off", to see what the JIT costs)."""
    name = _check_database(database_url)
    if pg_options:
        # The in-process requests (query counts) then run with the same options as the server's.
        from django.db import connection

        os.environ["PGOPTIONS"] = pg_options
        connection.close()
    workers = workers or default_workers()
    say = lambda text: (stdout.write(text + "\n"), stdout.flush())  # noqa: E731
    ds = dataset_find()
    say(f"dataset in {name}: " + ", ".join(f"{k} {v}" for k, v in ds.counts.items()))
    chosen = [t for t in targets(ds) if not only or t.name in only]
    workdir = Path(tempfile.mkdtemp(prefix="bench-run-"))
    env = server_env(database_url=database_url, static_root=workdir / "static", broker_url=broker_url,
                     pg_options=pg_options)
    server = Server(env=env, workers=workers, workdir=workdir)
    callers = {"admin": caller_sign_in(ds.admin), "partner": caller_sign_in(ds.partner_admin)}
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": _git_commit(),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in os.getloadavg()]},
        "database": name,
        "dataset": ds.counts,
        "server": {"workers": workers, "worker_class": "sync", "broker": "eager" if not broker_url else "broker",
                   "pg_options": pg_options or ""},
        "settings": {"requests_per_page": requests_per_page, "warmup": warmup, "load_seconds": load_seconds,
                     "clients": clients},
        "pages": [],
    }
    try:
        say(f"starting gunicorn ({workers} workers) …")
        server.start()
        with sql_connect(database_url, pg_options) as conn:
            with conn.cursor() as cursor:
                cursor.execute("SHOW server_version")
                result["machine"]["postgres"] = cursor.fetchone()[0]
            for target in chosen:
                caller = callers[target.user]
                headers = caller.headers(target.kind)
                http_times = time_http(server.port, target.path, headers, n=requests_per_page, warmup=warmup)
                app = count_queries("GET", target.path, headers=headers)
                sql_times = time_sql(conn, BARE_SQL[target.sql], target.sql_params, n=max(requests_per_page, 20),
                                     warmup=warmup)
                ratio = round(http_times["p50_ms"] / sql_times["p50_ms"], 1) if sql_times["p50_ms"] else None
                row = {
                    "name": target.name, "title": target.title, "kind": target.kind, "path": target.path,
                    "user": target.user, "sql": target.sql, "bytes": http_times["bytes"],
                    "p50_ms": http_times["p50_ms"], "p95_ms": http_times["p95_ms"], "queries": app.queries,
                    "in_process_ms": app.total_ms, "in_process_db_ms": app.db_ms,
                    "sql_rows": sql_times["rows"], "sql_p50_ms": sql_times["p50_ms"],
                    "sql_p95_ms": sql_times["p95_ms"], "ratio": ratio,
                    "goal_met": ratio is not None and ratio <= PAGE_RATIO_GOAL,
                }
                result["pages"].append(row)
                if profile and not row["goal_met"]:
                    count_queries("GET", target.path, headers=headers,
                                  profile_to=Path(out_dir) / "profiles" / f"{target.name}.txt")
                say(f"  {target.name:22} p50 {row['p50_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms  {app.queries:3d} queries "
                    f"(in-process {app.total_ms:.1f} ms, of it DB {app.db_ms:.1f} ms)  SQL p50 {row['sql_p50_ms']:7.2f} ms  "
                    f"ratio {_fmt(ratio)}")
        if not skip_load and clients > 0:
            result["usage"] = usage_load(ds, server, clients=clients, seconds=load_seconds, say=say)
            result["usage"]["workers"] = workers
        result["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        server.stop()
        if server.log.exists():
            tail = server.log.read_text(errors="replace")[-4000:]
            if tail.strip():
                result["server"]["log_tail"] = tail
        for caller in callers.values():
            caller_sign_out(caller)
        shutil.rmtree(workdir, ignore_errors=True)
    say("")
    say(render_text(result))
    for path in results_write(result, Path(out_dir)):
        say(f"wrote {path}")
    return result


def usage_load(ds: Dataset, server: Server, *, clients: int, seconds: float, say) -> dict:
    from django.utils import timezone

    pool = load_pool_prepare(ds, server.port, clients)
    say(f"usage load: {clients} devices in {pool.virtual_account.name} ({pool.product.sku}), {seconds:g} s each …")
    probe = pool.devices[0]
    auth = {"Authorization": f"Bearer {probe.secret}"}
    # Queries of one report that changes the device's count (no crossing implied), and of a ping.
    body = json.dumps({"usage": [{"sku": pool.product.sku, "count": (probe.last_acked + 1) % (LOAD_MAX_COUNT + 1)}]})
    trivial = count_queries("GET", f"/api/v1/devices/{probe.pk}/ping/", headers=auth)
    usage = count_queries("POST", f"/api/v1/devices/{probe.pk}/usage/", headers=auth, body=body.encode(),
                          warm=False)  # a second, identical report would change nothing
    if (trivial.status, usage.status) != (204, 200):
        raise BenchError(f"In this process the ping answered {trivial.status} and the usage report {usage.status}.")
    trivial_queries, usage_queries = trivial.queries, usage.queries
    # The in-process report was answered: it is the device's last acknowledged one.
    probe.last_acked = (probe.last_acked + 1) % (LOAD_MAX_COUNT + 1)
    load_run(server.port, pool, seconds=1, make_request=_ping_request)  # warm-up
    trivial = load_run(server.port, pool, seconds=seconds, make_request=_ping_request)
    say(f"  trivial: {trivial['rps']} req/s")
    since = timezone.now()
    usage = load_run(server.port, pool, seconds=seconds, make_request=_usage_request(pool), on_answer=_acknowledge)
    say(f"  usage:   {usage['rps']} req/s")
    checks = load_check(pool, since=since)
    ratio = round(usage["rps"] / trivial["rps"], 2) if trivial["rps"] else None
    return {
        "clients": clients, "seconds": seconds, "virtual_account": pool.virtual_account.pk, "sku": pool.product.sku,
        "usage": usage, "trivial": trivial, "usage_queries": usage_queries, "trivial_queries": trivial_queries,
        "ratio": ratio, "goal_met": ratio is not None and ratio >= USAGE_RATIO_GOAL,
        "lost_updates": checks["lost_updates"], "checks": checks,
    }
