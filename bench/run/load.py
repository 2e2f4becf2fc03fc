"""The usage load: devices registered into a VA of their own, each reporting usage from its own
thread next to a trivial endpoint, and the totals checked afterwards."""
from __future__ import annotations

import datetime
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import (
    LOAD_MAX_COUNT,
    LOAD_SERIAL_PREFIX,
    LOAD_VIRTUAL_ACCOUNT_NAME,
    USAGE_RATIO_GOAL,
    BenchError,
    _ms,
    percentile,
)
from .measure import count_queries
from .server import Server, request
from .targets import Dataset

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
