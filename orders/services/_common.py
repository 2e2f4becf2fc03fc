"""What the orders services share: reading ids, locking lines, who hears about a line, and the
emails one call owes (grouped per kind, order and account)."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied

from accounts import permissions
from accounts.models import HoldingMembership, SmartAccount, User, VirtualAccount
from accounts.selectors import sa_admin_emails
from accounts.services import notification_dispatch_on_commit, notification_queue, object_key
from lib.ids import storable_ids

from ..models import Order, OrderLine

# What a line needs in memory for events, emails and provisioning, in one query.
LINE_RELATED = ("order", "order__partner", "order__placed_by", "product", "smart_account", "virtual_account", "held_in")


def _pk(value, model) -> int | None:
    """An instance or an id (int or digit string) as an int id; None if it is neither."""
    if isinstance(value, model):
        return value.pk
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _root_virtual_account(sa: SmartAccount) -> VirtualAccount:
    return sa.default_virtual_account or VirtualAccount.objects.get(smart_account=sa, parent__isnull=True)


def _sa_admin_emails(sa: SmartAccount) -> list[str]:
    """Who is told about a customer account: its SA admins; before activation, its named contact."""
    emails = sa_admin_emails(sa)
    if not emails and sa.contact_id:
        emails = list(User.objects.filter(pk=sa.contact_id, is_active=True).values_list("email", flat=True))
    return emails


def _holding_notify_emails(sa: SmartAccount) -> list[str]:
    """The holding account's members who asked for its order emails."""
    return list(
        HoldingMembership.objects.filter(smart_account=sa, notify=True, user__is_active=True)
        .values_list("user__email", flat=True)
    )


def _recipients_for(line: OrderLine) -> list[str]:
    """Who hears about a line where it is now: the holding account's members while it is held,
    the customer account's admins once it has an account, else the end-customer contact."""
    sa = line.smart_account
    if sa is None:
        return [line.order.end_customer_email]
    return _holding_notify_emails(sa) if sa.is_holding else _sa_admin_emails(sa)


class _Owed:
    """The emails one service call owes, grouped so that a recipient gets one email per kind,
    order and account (a 20-line shipment into one account is one email, not twenty).

    The outbox key is the line when the email is about one line, else the order plus a digest of
    the lines: owing the same email about the same lines twice owes it once."""

    def __init__(self) -> None:
        self._groups: dict[tuple, list[OrderLine]] = defaultdict(list)
        self._recipients: dict[tuple, list[str]] = {}

    def add(self, *, kind: str, template: str, line: OrderLine, recipients: Iterable[str]) -> None:
        group = (kind, template, line.order_id, line.smart_account_id)
        if group not in self._recipients:
            self._recipients[group] = sorted({r.strip().lower() for r in recipients if r})
        self._groups[group].append(line)

    def queue(self) -> None:
        owed = []
        for group, lines in self._groups.items():
            kind, template, _, _ = group
            recipients = self._recipients[group]
            if not recipients:
                continue
            lines = sorted(lines, key=lambda line: line.number)
            order, account = lines[0].order, lines[0].smart_account
            owed += notification_queue(
                kind=kind, about=_about(order, lines), recipients=recipients, template=template,
                context=_email_context(order, lines, account), dispatch_on_commit=False,
            )
        # One hand-over to Celery for the whole call: a broker that is down costs one timeout.
        notification_dispatch_on_commit(owed)


def _about(order: Order, lines: Sequence[OrderLine]) -> str:
    if len(lines) == 1:
        return object_key(lines[0])
    digest = hashlib.sha1(",".join(str(line.pk) for line in lines).encode()).hexdigest()[:12]
    return f"{object_key(order)}/lines:{digest}"


def _email_context(order: Order, lines: Sequence[OrderLine], account: SmartAccount | None) -> dict:
    site = settings.SITE_URL
    return {
        "order": order,
        "partner": order.partner,
        "lines": lines,
        "smart_account": account,
        "order_url": f"{site}/orders/{order.pk}/",
        "account_url": f"{site}/sa/{account.pk}/" if account is not None else "",
    }


def _line_detail(line: OrderLine) -> dict:
    return {"order": line.order.number, "line": line.number, "sku": line.product.sku, "quantity": line.quantity}


def _lock_lines(ids: Iterable[int]) -> list[OrderLine]:
    """Lock these lines (ordered by id, so that concurrent callers queue instead of deadlocking),
    then read them fresh: what another transaction committed while we waited is what we see."""
    ids = sorted(storable_ids(ids))
    list(OrderLine.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    return list(OrderLine.objects.filter(pk__in=ids).select_related(*LINE_RELATED).order_by("pk"))


def _require_staff(actor: User | None) -> None:
    # None is the system (the ship_orders command, a task).
    if actor is not None and not permissions.can_ship_orders(actor):
        raise PermissionDenied("Only vendor staff can ship orders.")
