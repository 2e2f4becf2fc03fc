"""Subscription reminders (flow 7): each shipped subscription line reminds its account as its end
comes near, at the windows the account chose, once per line and window."""
from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import HoldingMembership, Notification, Role, SmartAccount, User
from accounts.services import notification_dispatch_on_commit, notification_queue_many, object_key
from licensing.models import AlertPreferences, default_expiry_windows
from licensing.selectors import alert_preferences_of

from ..models import OrderLine
from ._common import LINE_RELATED, _email_context

def _reminder_window(days_left: int, windows: Iterable[int]) -> int | None:
    """The nearest of these windows (days before the end) a subscription `days_left` days from
    its end has reached; None while it is further away than the widest."""
    fitting = [w for w in windows if days_left <= w]
    return min(fitting) if fitting else None


def _reminder_horizon() -> int:
    """The widest window of any account that wants expiry reminders (the defaults included):
    how far ahead to look for subscriptions ending, in one query."""
    widest = max(default_expiry_windows())
    chosen = (
        AlertPreferences.objects.filter(expiring_subscriptions=True).values_list("expiry_windows", flat=True).distinct()
    )
    for windows in chosen:
        widest = max([widest, *(w for w in windows or [] if isinstance(w, int))])
    return widest


def _account_recipients(accounts: Iterable[SmartAccount], preferences: dict[int, AlertPreferences]) -> dict[int, list[str]]:
    """Who hears about subscriptions in each account, in two queries whatever their number: a
    customer account's SA admins (before activation, its named contact), a holding account's
    members who asked for its emails, and in both the extra recipients of its alert preferences."""
    accounts = {sa.pk: sa for sa in accounts}
    emails: dict[int, set[str]] = defaultdict(set)
    customer_ids = [pk for pk, sa in accounts.items() if not sa.is_holding]
    holding_ids = [pk for pk, sa in accounts.items() if sa.is_holding]
    if customer_ids:
        for sa_id, email in User.objects.filter(
            smartaccountrole__content_object__in=customer_ids, smartaccountrole__permission__codename=Role.SA_ADMIN,
            is_active=True,
        ).values_list("smartaccountrole__content_object", "email"):
            emails[sa_id].add(email)
    if holding_ids:
        for sa_id, email in HoldingMembership.objects.filter(
            smart_account_id__in=holding_ids, notify=True, user__is_active=True
        ).values_list("smart_account_id", "user__email"):
            emails[sa_id].add(email)
    recipients = {}
    for pk, sa in accounts.items():
        found = emails[pk]
        if not found and not sa.is_holding and sa.contact is not None and sa.contact.is_active:
            found = {sa.contact.email}
        extra = preferences[pk].extra_recipients if pk in preferences else []
        recipients[pk] = sorted(found | set(extra or []))
    return recipients


@transaction.atomic
def subscription_reminders_queue(*, today: datetime.date | None = None) -> int:
    """Owe a reminder for each shipped subscription line as its end comes near, at the windows
    its account chose in its alert preferences (the defaults, 90, 30 and 7 days before, when it
    chose none; no reminders if it turned `expiring_subscriptions` off). The account is the one
    the line is in: the customer account, or the holding account while it is held; a delegated
    line not yet placed reminds the end-customer contact, at the default windows.

    One reminder per line and window, and only the nearest window: a line first seen 5 days
    before its end gets the 7-day reminder, not three. It goes to the account's admins (a
    holding account's notified members) and the extra recipients of its preferences. Safe to run
    as often as wanted (the outbox holds what was owed); a constant number of queries however
    many lines and accounts. Returns how many emails were owed now."""
    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=_reminder_horizon())
    lines = list(
        OrderLine.objects.filter(shipped_on__isnull=False, ends_on__gte=today, ends_on__lte=horizon)
        .select_related(*LINE_RELATED, "smart_account__contact").order_by("ends_on", "pk")
    )
    preferences = alert_preferences_of(line.smart_account_id for line in lines)
    due = []
    for line in lines:
        account_preferences = preferences.get(line.smart_account_id)
        if account_preferences is not None and not account_preferences.expiring_subscriptions:
            continue
        windows = (account_preferences.expiry_windows if account_preferences is not None else None) or default_expiry_windows()
        window = _reminder_window((line.ends_on - today).days, windows)
        if window is not None:
            due.append((line, f"subscription.ending.{window}", window))
    owed_already = set(
        Notification.objects.filter(kind__in={kind for _, kind, _ in due}, object_key__in={object_key(line) for line, _, _ in due})
        .values_list("kind", "object_key")
    ) if due else set()
    due = [(line, kind, window) for line, kind, window in due if (kind, object_key(line)) not in owed_already]
    recipients = _account_recipients({line.smart_account for line, _, _ in due if line.smart_account is not None}, preferences)
    owed = notification_queue_many(
        (
            {
                "kind": kind, "about": line, "template": "subscription_ending",
                "recipients": recipients[line.smart_account_id] if line.smart_account is not None else [line.order.end_customer_email],
                "context": {**_email_context(line.order, [line], line.smart_account), "line": line,
                            "days_left": (line.ends_on - today).days, "window": window},
            }
            for line, kind, window in due
        ),
        dispatch_on_commit=False,
    )
    notification_dispatch_on_commit(owed)
    return len(owed)


