"""Shipping order lines (flows 6 and 7), by staff or the system: all or none, once per line; a
shipped line is provisioned at once into an active customer account, waits in a holding account
(`held`), or waits for its account (`awaiting_account`); a subscription starts on the ship date."""
from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import EventAction, SmartAccountStatus, User
from accounts.services import event_record
from accounts.validators import clean_day
from lib.dates import add_months

from ..models import Order, OrderLine, OrderLineState
from ._common import _holding_notify_emails, _line_detail, _lock_lines, _Owed, _pk, _recipients_for, _require_staff
from .provisioning import _lock_target_pools, _provision


@transaction.atomic
def order_line_ship(*, line: OrderLine | int, actor: User | None, shipped_on: datetime.date | None = None) -> OrderLine:
    """Staff ship one booked line (flow 6). Shipping it again is refused: it ships once."""
    return _ship([_pk(line, OrderLine)], actor=actor, shipped_on=shipped_on)[0]


@transaction.atomic
def order_ship(
    *, order: Order, actor: User | None, lines: Iterable[OrderLine | int] | None = None,
    shipped_on: datetime.date | None = None,
) -> list[OrderLine]:
    """Staff ship every booked line of an order, or the given ones (all or none)."""
    _require_staff(actor)
    order_line_ids = set(order.lines.values_list("pk", flat=True))
    if lines is None:
        ids = set(order.lines.filter(state=OrderLineState.BOOKED).values_list("pk", flat=True))
        if not ids:
            raise ValidationError({"lines": f"Every line of {order.number} has shipped already."})
    else:
        ids = {_pk(line, OrderLine) for line in lines}
        strangers = sorted(str(i) for i in ids - order_line_ids)
        if not ids:
            raise ValidationError({"lines": "Choose the lines to ship."})
        if strangers:
            raise ValidationError({"lines": f"Not lines of {order.number}: {', '.join(strangers)}."})
    return _ship(ids, actor=actor, shipped_on=shipped_on)


def _ship(line_ids: Iterable[int], *, actor: User | None, shipped_on: datetime.date | None) -> list[OrderLine]:
    """Ship these lines, all or none: a line that shipped already, or whose account cannot take
    it now, stops the whole call with a message naming it."""
    _require_staff(actor)
    today = timezone.localdate()
    shipped_on = clean_day(shipped_on, field="shipped_on") or today
    if shipped_on > today:
        raise ValidationError({"shipped_on": "The ship date cannot be in the future."})
    line_ids = set(line_ids)
    lines = _lock_lines(line_ids - {None})
    if not line_ids or len(lines) != len(line_ids):
        raise ValidationError({"lines": "No such order line."})
    problems = []
    for line in lines:
        if line.state != OrderLineState.BOOKED:
            problems.append(f"{line.reference} shipped already on {line.shipped_on} ({line.get_state_display().lower()}).")
        elif line.smart_account is not None and line.smart_account.status == SmartAccountStatus.SUSPENDED:
            problems.append(f"{line.reference} goes to {line.smart_account.name}, which is suspended.")
    if problems:
        raise ValidationError({"lines": problems})
    _lock_target_pools(
        (line, line.smart_account, line.virtual_account) for line in lines
        if line.smart_account is not None and not line.smart_account.is_holding and line.smart_account.is_active
    )
    owed = _Owed()
    for line in lines:
        _ship_one(line, actor, shipped_on, owed)
    owed.queue()
    return lines


def _ship_one(line: OrderLine, actor: User | None, shipped_on: datetime.date, owed: _Owed) -> None:
    line.shipped_on = shipped_on
    if line.product.term_months:
        # Subscriptions run from the ship date, wherever the line is (flow 7).
        line.starts_on = shipped_on
        line.ends_on = add_months(shipped_on, line.product.term_months)
    sa = line.smart_account
    if sa is None:
        line.state = OrderLineState.AWAITING_ACCOUNT  # delegated; the end customer has not chosen yet
    elif sa.is_holding:
        line.state = OrderLineState.HELD
        line.held_in = sa
    else:
        # Active: provisioned below; new: when it is activated.
        line.state = OrderLineState.AWAITING_ACCOUNT
    line.save(update_fields=["shipped_on", "starts_on", "ends_on", "state", "held_in"])
    if sa is not None:
        event_record(smart_account=sa, action=EventAction.ORDER_LINE_SHIPPED, actor=actor,
                     virtual_account=line.virtual_account, obj=line,
                     detail={**_line_detail(line), "shipped_on": shipped_on.isoformat(), "state": line.state})
    if line.product.term_months:
        if sa is not None:
            event_record(
                smart_account=sa, action=EventAction.SUBSCRIPTION_STARTED, actor=actor,
                virtual_account=line.virtual_account, obj=line,
                detail={**_line_detail(line), "starts_on": line.starts_on.isoformat(), "ends_on": line.ends_on.isoformat()},
            )
        owed.add(kind="subscription.started", template="subscription_started", line=line, recipients=_recipients_for(line))
    if sa is not None and sa.is_holding:
        owed.add(kind="order.fulfilled", template="order_fulfilled", line=line, recipients=_holding_notify_emails(sa))
    elif sa is not None and sa.is_active:
        _provision(line, actor, owed)
