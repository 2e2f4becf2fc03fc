"""Reading the event log: an account's events as a user may see them (`events`), and one event
in words for people (`event_describe`), used by the event log, its CSV, the dashboards, a
product's page and an order's history alike. Writing is `services.event_record`."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from . import permissions
from .models import Event, EventAction, SmartAccount, User, VirtualAccount


def events(
    smart_account: SmartAccount,
    *,
    user: User | None = None,
    action: str | None = None,
    virtual_account: VirtualAccount | None = None,
    actor: str | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[Event]:
    """The account's event log as `user` may see it, newest first. `action`: exact, or a prefix
    ending in "." or "*" (`device.` = every device event); `virtual_account`: that VA and its
    subtree; `actor`: an email (or "system"); `since`/`until`: dates, inclusive."""
    if user is None or permissions.sees_whole_account(user, smart_account):
        # No per-row check for account-wide readers: on a big log it cost ten times the count.
        qs = Event.objects.filter(smart_account=smart_account)
    else:
        qs = permissions.visible(user, Event).filter(smart_account=smart_account)
    if action:
        action = action.strip()
        qs = qs.filter(action__startswith=action.rstrip("*")) if action.endswith((".", "*")) else qs.filter(action=action)
    if virtual_account is not None:
        qs = qs.filter(
            virtual_account__tree_id=virtual_account.tree_id, virtual_account__lft__gte=virtual_account.lft,
            virtual_account__rght__lte=virtual_account.rght, virtual_account__smart_account=smart_account,
        )
    if actor:
        qs = qs.filter(actor_label__iexact=actor.strip())
    if since:
        qs = qs.filter(created_at__gte=day_start(since))
    if until:
        qs = qs.filter(created_at__lt=day_start(until + datetime.timedelta(days=1)))
    # The account too: order events name where they happened (event_describe).
    return qs.select_related("smart_account", "virtual_account").order_by("-created_at", "-id")


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# --- an event in words -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventDescription:
    """`title`: what happened in a few words ("Shipped"); `details`: its particulars, for a list
    that shows the title already (an order's history); `sentence`: the whole event in one
    sentence (the event log). `str()` is the sentence."""

    title: str
    details: str
    sentence: str

    def __str__(self) -> str:
        return self.sentence


class _Detail(dict):
    def __missing__(self, key):
        return ""


def _lines(lines) -> str:
    return ", ".join(f"{line.get('quantity')} × {line.get('sku')}" for line in lines or [] if isinstance(line, dict))


def _where(event: Event) -> str:
    return event.smart_account.name + (f" / {event.virtual_account.name}" if event.virtual_account_id else "")


def _placed(d: _Detail, event: Event) -> str:
    numbers = [str(item.get("line")) for item in d["lines"] or [] if isinstance(item, dict)]
    return f"line{'s' if len(numbers) != 1 else ''} {', '.join(numbers)} for {_where(event)}"


# Titles where an order's history words it better than the type's label (EventAction).
_TITLES = {
    EventAction.ORDER_LINE_SHIPPED: "Shipped",
    EventAction.ORDER_LINE_PROVISIONED: "Licenses deposited",
    EventAction.ORDER_LINE_MOVED: "Moved out of the holding account",
    EventAction.ORDER_LINE_ASSIGNED: "Account chosen by the end customer",
}

# action → the particulars after the title, from the event's detail (missing keys read as empty).
_DETAILS = {
    EventAction.ORDER_PLACED: _placed,
    EventAction.ORDER_LINE_SHIPPED: lambda d, e: f"on {d['shipped_on']} to {_where(e)}",
    EventAction.SUBSCRIPTION_STARTED: lambda d, e: f"runs {d['starts_on']} to {d['ends_on']}",
    EventAction.ORDER_LINE_MOVED: lambda d, e: f"from {d['from']} to {d['to']}",
    EventAction.ORDER_LINE_PROVISIONED: lambda d, e: f"{d['quantity']} × {d['sku']} in {_where(e)}",
    EventAction.ORDER_LINE_ASSIGNED: lambda d, e: _where(e),
}

# action → the whole event in a sentence, where the title and particulars do not read as one.
_SENTENCES = {
    EventAction.LICENSES_DEPOSITED: lambda d: f"{d['quantity']} × {d['sku']} deposited" + (f" ({d['source_ref']})" if d["source_ref"] else ""),
    EventAction.LICENSES_TRANSFERRED: lambda d: f"{_lines(d['lines'])} moved from {d['from']} to {d['to']}",
    EventAction.COMPLIANCE_SHORTAGE_STARTED: lambda d: (
        f"{d['sku']} short by {d['shortage']} in {d['virtual_account_name']} ({d['in_use']} in use, {d['purchased']} purchased)"
    ),
    EventAction.COMPLIANCE_SHORTAGE_CLEARED: lambda d: f"{d['sku']} back in compliance in {d['virtual_account_name']}",
    EventAction.TOKEN_CREATED: lambda d: f"Registration token {d['prefix']}… created" + (f": {d['description']}" if d["description"] else ""),
    EventAction.TOKEN_REVOKED: lambda d: f"Registration token {d['prefix']}… revoked",
    EventAction.DEVICE_REGISTERED: lambda d: (
        f"Device {d['serial_number']} registered{' again' if d['again'] else ''}" + (f" ({d['hostname']})" if d["hostname"] else "")
    ),
    EventAction.DEVICE_REREGISTERED: lambda d: (
        f"Device {d['serial_number']} re-registered "
        + (f"with token {d['token']}…" if d["token"] else "with its current secret")
        + ", secret rotated" + (f" ({d['hostname']})" if d["hostname"] else "")
    ),
    EventAction.DEVICE_MOVED: lambda d: f"Device {d['serial_number']} moved from {d['from']} to {d['to']}",
    EventAction.DEVICE_REMOVED: lambda d: f"Device {d['serial_number']} removed" + (f", freeing {_lines(d['usage'])}" if d["usage"] else ""),
    EventAction.PAK_ISSUED: lambda d: f"PAK issued: {d['quantity']} × {d['sku']}",
    EventAction.PAK_REGISTERED: lambda d: f"PAK {d['pak']} registered to device {d['serial_number']}",
    EventAction.PAK_CONVERTED: lambda d: f"PAK {d['pak']} converted to {d['quantity']} × {d['to_sku']} in {d['to']}",
    EventAction.ALERTS_UPDATED: lambda d: "Alert and email preferences changed",
    EventAction.VIRTUAL_ACCOUNT_CREATED: lambda d: "Virtual Account created" + (f" below {d['parent']}" if d["parent"] else ""),
    EventAction.VIRTUAL_ACCOUNT_RENAMED: lambda d: f"Virtual Account {d['from']} renamed {d['to']}",
    EventAction.VIRTUAL_ACCOUNT_MOVED: lambda d: f"Virtual Account moved from below {d['from']} to below {d['to']}",
    EventAction.ROLE_REVOKED: lambda d: f"{d['user']} no longer has the role {d['role']} ({d['scope']})",
}

_UNREADABLE = (TypeError, ValueError, AttributeError, KeyError)


def event_title(action: str) -> str:
    """An event type in a few words (its EventAction label; an unknown type, spelled out)."""
    if action in _TITLES:
        return _TITLES[action]
    if action in EventAction.values:
        return EventAction(action).label
    return action.replace("_", " ").replace(".", " ").capitalize()


def event_describe(event: Event) -> EventDescription:
    """What happened, in words for people rather than codes. A detail that does not read (an
    older event's shape) falls back to the object the event is about."""
    detail = _Detail(event.detail) if isinstance(event.detail, dict) else _Detail()
    title = event_title(event.action)
    details = ""
    if event.action in _DETAILS:
        try:
            details = _DETAILS[event.action](detail, event)
        except _UNREADABLE:
            details = ""
    sentence = ""
    if event.action in _SENTENCES:
        try:
            sentence = _SENTENCES[event.action](detail)
        except _UNREADABLE:
            sentence = ""
        # Events about a Virtual Account name it in their object (e.g. "Acme / US").
        if sentence and event.action.startswith("virtual_account.") and event.object_repr:
            sentence = f"{sentence}: {event.object_repr}"
    elif details:
        sentence = f"{title} {details}"
    if not sentence:
        sentence = event.object_repr or title
    return EventDescription(title=title, details=details or sentence, sentence=sentence)


def event_tone(action: str) -> str:
    """A Bootstrap colour for an event type's badge."""
    if action == EventAction.COMPLIANCE_SHORTAGE_STARTED:
        return "danger"
    if action in (EventAction.COMPLIANCE_SHORTAGE_CLEARED, EventAction.LICENSES_DEPOSITED):
        return "success"
    # A re-registration locks out whoever held the device's secret: worth a second look.
    if action.endswith((".removed", ".revoked", ".deleted", ".denied", ".reregistered")):
        return "warning"
    return "secondary"
