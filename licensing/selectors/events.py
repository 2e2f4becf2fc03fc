"""The account's event log as a user may see it, filtered."""
from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import Event, SmartAccount, User, VirtualAccount


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
        qs = qs.filter(created_at__gte=_day_start(since))
    if until:
        qs = qs.filter(created_at__lt=_day_start(until + datetime.timedelta(days=1)))
    return qs.select_related("virtual_account").order_by("-created_at", "-id")


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
