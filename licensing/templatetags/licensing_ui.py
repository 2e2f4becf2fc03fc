"""Template helpers of the licensing pages: events in words, status badges' words and colours."""
from __future__ import annotations

import datetime

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.models import Event

register = template.Library()


def _lines(lines) -> str:
    return ", ".join(f"{line.get('quantity')} × {line.get('sku')}" for line in lines or [] if isinstance(line, dict))


# action → a sentence from the event's detail (missing keys read as empty).
_SUMMARIES = {
    "licenses.deposited": lambda d: f"{d['quantity']} × {d['sku']} deposited" + (f" ({d['source_ref']})" if d["source_ref"] else ""),
    "licenses.transferred": lambda d: f"{_lines(d['lines'])} moved from {d['from']} to {d['to']}",
    "compliance.shortage_started": lambda d: (
        f"{d['sku']} short by {d['shortage']} in {d['virtual_account_name']} ({d['in_use']} in use, {d['purchased']} purchased)"
    ),
    "compliance.shortage_cleared": lambda d: f"{d['sku']} back in compliance in {d['virtual_account_name']}",
    "token.created": lambda d: f"Registration token {d['prefix']}… created" + (f": {d['description']}" if d["description"] else ""),
    "token.revoked": lambda d: f"Registration token {d['prefix']}… revoked",
    "device.registered": lambda d: (
        f"Device {d['serial_number']} registered{' again' if d['again'] else ''}" + (f" ({d['hostname']})" if d["hostname"] else "")
    ),
    "device.reregistered": lambda d: (
        f"Device {d['serial_number']} re-registered "
        + (f"with token {d['token']}…" if d["token"] else "with its current secret")
        + ", secret rotated" + (f" ({d['hostname']})" if d["hostname"] else "")
    ),
    "device.moved": lambda d: f"Device {d['serial_number']} moved from {d['from']} to {d['to']}",
    "device.removed": lambda d: f"Device {d['serial_number']} removed" + (f", freeing {_lines(d['usage'])}" if d["usage"] else ""),
    "pak.issued": lambda d: f"PAK issued: {d['quantity']} × {d['sku']}",
    "pak.registered": lambda d: f"PAK {d['pak']} registered to device {d['serial_number']}",
    "pak.converted": lambda d: f"PAK {d['pak']} converted to {d['quantity']} × {d['to_sku']} in {d['to']}",
    "alerts.updated": lambda d: "Alert and email preferences changed",
    "virtual_account.created": lambda d: "Virtual Account created" + (f" below {d['parent']}" if d["parent"] else ""),
    "virtual_account.renamed": lambda d: f"Virtual Account {d['from']} renamed {d['to']}",
    "virtual_account.moved": lambda d: f"Virtual Account moved from below {d['from']} to below {d['to']}",
    "role.revoked": lambda d: f"{d['user']} no longer has the role {d['role']} ({d['scope']})",
}


class _Detail(dict):
    def __missing__(self, key):
        return ""


@register.filter
def event_summary(event: Event) -> str:
    """What happened, in words (falls back to the object the event is about)."""
    summarise = _SUMMARIES.get(event.action)
    if summarise is not None and isinstance(event.detail, dict):
        try:
            text = summarise(_Detail(event.detail))
        except (TypeError, ValueError, AttributeError):
            text = ""
        if text:
            # Events about a Virtual Account name it in their object (e.g. "Acme / US").
            if event.action.startswith("virtual_account.") and event.object_repr:
                text = f"{text}: {event.object_repr}"
            return text
    return event.object_repr or event.action


@register.filter
def event_tone(action: str) -> str:
    """A Bootstrap colour for an event type's badge."""
    if action == "compliance.shortage_started":
        return "danger"
    if action in ("compliance.shortage_cleared", "licenses.deposited"):
        return "success"
    # A re-registration locks out whoever held the device's secret: worth a second look.
    if action.endswith((".removed", ".revoked", ".deleted", ".denied", ".reregistered")):
        return "warning"
    return "secondary"


@register.simple_tag
def scope_url(urls, name: str, **kwargs) -> str:
    """A page of the same scope that needs more arguments:
    `{% scope_url urls "license_detail" product_pk=product.pk %}` (`urls`: views.ScopeUrls)."""
    if urls.va_pk is not None:
        try:
            return reverse(f"licensing:{name}", kwargs={"va_pk": urls.va_pk, **kwargs})
        except NoReverseMatch:
            pass
    return reverse(f"licensing:{name}", kwargs={"sa_pk": urls.sa_pk, **kwargs})


@register.filter
def days_until(day: datetime.date | None) -> int | None:
    """Days from today to `day` (negative when past)."""
    if day is None:
        return None
    return (day - timezone.localdate()).days
