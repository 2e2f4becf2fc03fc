"""After seeding: do the timed pages show the data, and does every pool's shortage record agree
with its usage?"""
from __future__ import annotations

import time
from dataclasses import dataclass

from accounts.models import Event, SmartAccount, SmartAccountKind, User, VirtualAccount
from licensing.models import Device, DeviceUsage, Shortage
from orders.models import Order

from .. import dataset

@dataclass
class PageCheck:
    url: str
    user: str
    status: int
    seconds: float
    missing: list[str]

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.missing


def compliance_disagreements() -> int:
    """Pools whose open-shortage record disagrees with what they hold and use: what
    `licensing.services.compliance_reconcile` would settle (0 after a consistent seed)."""
    from licensing import selectors as licensing_selectors

    scope = VirtualAccount.objects.filter(smart_account__kind=SmartAccountKind.CUSTOMER)
    purchased, in_use = licensing_selectors.pool_totals(scope, on=None, products=None)
    short_now = {key for key in set(purchased) | set(in_use) if in_use[key] > purchased[key]}
    recorded = set(
        Shortage.objects.filter(virtual_account__in=scope.values("pk"), cleared_at__isnull=True)
        .values_list("virtual_account_id", "product_id")
    )
    return len(short_now ^ recorded)


def check_pages() -> list[PageCheck]:
    """Fetch the timed pages as their users, with the test client: each must answer 200 and show
    real data (the busy VA, one of its SKUs and serials, the newest order, a held line, the newest event)."""
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse
    from django.utils.html import escape

    from orders.selectors import held_lines_for

    big_admin = User.objects.get(email=dataset.BIG_ACCOUNT_ADMIN)
    partner_admin = User.objects.get(email=dataset.PARTNER_ADMIN)
    big = SmartAccount.objects.get(name=dataset.BIG_ACCOUNT_NAME, kind=SmartAccountKind.CUSTOMER)
    busy = VirtualAccount.objects.get(smart_account=big, name=dataset.BUSY_VIRTUAL_ACCOUNT_NAME)
    sku = (
        DeviceUsage.objects.filter(device__virtual_account=busy).order_by("product__family", "product__sku")
        .values_list("product__sku", flat=True).first()
    )
    serial = (
        Device.objects.filter(virtual_account=busy).order_by("serial_number").values_list("serial_number", flat=True).first()
    )
    newest_order = Order.objects.filter(partner__name=dataset.PARTNER_NAME).order_by("-placed_at", "-id").first()
    held = held_lines_for(partner_admin).first()
    newest_event = Event.objects.filter(smart_account=big).order_by("-created_at", "-id").first()
    pages = [
        # The tree loads on demand: ?open= unfolds the path down to the busy VA.
        (big_admin, reverse("portal:smart_account_detail", args=[big.pk]) + f"?open={busy.pk}", [busy.name, big.name]),
        (big_admin, reverse("licensing:license_list", kwargs={"va_pk": busy.pk}), [busy.name, sku]),
        (big_admin, reverse("licensing:device_list", kwargs={"va_pk": busy.pk}), [serial]),
        (big_admin, reverse("licensing:event_list", kwargs={"sa_pk": big.pk}),
         [newest_event.action if newest_event else "?"]),
        (partner_admin, reverse("orders:order_list"), [newest_order.number if newest_order else "?"]),
        (partner_admin, reverse("orders:held_line_list"),
         [dataset.HOLDING_ACCOUNT_NAME, held.order.number if held else "?", held.product.sku if held else "?"]),
    ]
    results = []
    client = Client()
    with override_settings(ALLOWED_HOSTS=["*"]):
        for user, url, expected in pages:
            client.force_login(user)
            started = time.perf_counter()
            response = client.get(url)
            seconds = time.perf_counter() - started
            content = response.content.decode(errors="replace")
            missing = [text for text in expected if not text or escape(text) not in content]
            results.append(PageCheck(url, user.email, response.status_code, round(seconds, 3), missing))
    return results
