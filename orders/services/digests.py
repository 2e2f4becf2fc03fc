"""The weekly digest of holding accounts (issue 4): each holding account's notified members hear
which lines wait in it, once per ISO week."""
from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import HoldingMembership, SmartAccount
from accounts.services import notification_dispatch_on_commit, notification_queue, object_key
from licensing.selectors import alert_preferences_of

from ..models import OrderLine, OrderLineState
from ..selectors import held_line_age, holding_stale_days

# Lines listed in one digest email; the rest are counted ("and 12 more").
DIGEST_MAX_LINES = 200


def holding_digest_key(smart_account: SmartAccount, day: datetime.date) -> str:
    """The outbox key of a holding account's digest for the ISO week of `day`: one per week."""
    year, week, _ = day.isocalendar()
    return f"{object_key(smart_account)}/week:{year}-W{week:02d}"


@transaction.atomic
def holding_digests_queue(*, today: datetime.date | None = None) -> int:
    """Owe each holding account's notified members (and the extra recipients of its alert
    preferences) a digest of the lines waiting in it (held), oldest first, with how long each has
    waited and how much of its subscription has run; not to an account whose alert preferences
    turned `holding_lines_waiting` off.
    Owed once per account and ISO week (the outbox key names the week), so running it again in
    the same week owes nothing; accounts with nothing waiting get no email. Returns how many
    emails were owed now."""
    today = today or timezone.localdate()
    stale_days = holding_stale_days()
    held = list(
        OrderLine.objects.filter(state=OrderLineState.HELD)
        .select_related("order", "order__partner", "product", "smart_account", "held_in")
        .order_by("smart_account_id", "shipped_on", "order_id", "number")
    )
    by_account: dict[int, list[OrderLine]] = defaultdict(list)
    for line in held:
        by_account[line.smart_account_id].append(line)
    preferences = alert_preferences_of(by_account)
    by_account = {pk: lines for pk, lines in by_account.items() if preferences[pk].holding_lines_waiting}
    recipients: dict[int, set[str]] = defaultdict(set)
    for sa_id, email in HoldingMembership.objects.filter(
        smart_account_id__in=list(by_account), notify=True, user__is_active=True
    ).values_list("smart_account_id", "user__email"):
        recipients[sa_id].add(email)
    for sa_id in by_account:
        recipients[sa_id].update(preferences[sa_id].extra_recipients or [])

    owed = []
    year, week, _ = today.isocalendar()
    for sa_id, lines in by_account.items():
        if not recipients[sa_id]:
            continue
        account = lines[0].smart_account
        rows = []
        for line in lines:
            age = held_line_age(line, today, stale_days)
            elapsed = age.percent_used if line.starts_on and line.ends_on else None
            rows.append({"line": line, "days_waiting": age.age_days, "stale": age.stale, "term_elapsed": elapsed})
        owed += notification_queue(
            kind="holding.weekly_digest", about=holding_digest_key(account, today), recipients=recipients[sa_id],
            template="holding_weekly_digest",
            context={
                "smart_account": account, "rows": rows[:DIGEST_MAX_LINES], "more": max(0, len(rows) - DIGEST_MAX_LINES),
                "total": len(rows), "quantity": sum(line.quantity for line in lines),
                "stale_count": sum(1 for row in rows if row["stale"]), "stale_days": stale_days,
                "week": f"{year}-W{week:02d}", "today": today,
                "inbox_url": f"{settings.SITE_URL}{reverse('orders:held_line_list')}?holding_account={account.pk}",
            },
            dispatch_on_commit=False,
        )
    notification_dispatch_on_commit(owed)
    return len(owed)
