"""Lines into a customer account, all or none, provisioned once: a holding account's members move
its held lines out (flow 8), and the end-customer contact chooses the account of a line delegated
to them (flow 5). One engine for both: `order_line_move_to_account` takes either kind in one list
(the API), `order_line_move_from_holding` and `order_line_assign_delegated` only their own."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import (
    EventAction,
    Invitation,
    InvitationPurpose,
    SmartAccount,
    SmartAccountStatus,
    User,
    VirtualAccount,
)
from accounts.permissions import HOLD, OPERATE
from accounts.selectors import user_is_verified
from accounts.services import event_record, object_key
from lib.ids import storable_ids
from licensing.services import account_hold

from ..models import OrderLine, OrderLineState
from ..permissions import is_delegated_contact
from ..selectors import orders_visible_to
from ._common import _line_detail, _lock_lines, _Owed, _pk
from .provisioning import _lock_target_pools, _provision

# The two flows a line moves by.
HELD = "held"  # out of a holding account, by its members
DELEGATED = "delegated"  # a delegated line's account, chosen by the end-customer contact
UNKNOWN = "no such order line"


@transaction.atomic
def order_line_move_to_account(
    *,
    lines: Iterable[OrderLine | int],
    smart_account: SmartAccount | int,
    actor: User,
    virtual_account: VirtualAccount | int | None = None,
) -> list[OrderLine]:
    """Move lines to an active customer Smart Account (+ Virtual Account, default the account's
    default), all or none, each by the flow it is in:

    - `held` lines, by members of their holding account (`order_line_move_from_holding`);
    - delegated lines whose account is not chosen yet, by the end-customer contact
      (`order_line_assign_delegated`).

    One list may hold both (the API's move endpoint). Errors as `order_line_move_from_holding`."""
    return _move(lines=lines, smart_account=smart_account, virtual_account=virtual_account, actor=actor,
                 flows={HELD, DELEGATED})


@transaction.atomic
def order_line_move_from_holding(
    *,
    lines: Iterable[OrderLine | int],
    smart_account: SmartAccount | int,
    actor: User,
    virtual_account: VirtualAccount | int | None = None,
) -> list[OrderLine]:
    """Members of a holding account move its `held` lines to an active customer Smart Account
    (+ Virtual Account, default the account's default), all or none (flow 8): provisioned there
    now, once. A partner needs no role in the customer's account (depositing gives and never takes).

    The lines are locked and their state re-checked under the lock, so moving a line twice, or
    two people moving it at once, deposits it once. If any line cannot move, nothing moves and
    a ValidationError keyed `lines` names each such line and why (also as `exc.failed_lines`,
    {line id: reason}); lines the actor may not see are only "no such order line". If the only
    reason is the actor's right to move lines they can see, it is PermissionDenied instead."""
    return _move(lines=lines, smart_account=smart_account, virtual_account=virtual_account, actor=actor,
                 flows={HELD})


@transaction.atomic
def order_line_assign_delegated(
    *,
    lines: Iterable[OrderLine | int],
    smart_account: SmartAccount | int,
    actor: User,
    virtual_account: VirtualAccount | int | None = None,
) -> list[OrderLine]:
    """The end-customer contact (verified email = the order's contact email) chooses the account
    of lines delegated to them, whose account is not chosen yet: an active customer account where
    they may operate (+ Virtual Account). Assigned, and provisioned at once if already shipped
    (else when shipped); the emailed link of each line is used up. All or none, once, with the
    errors of `order_line_move_from_holding`."""
    return _move(lines=lines, smart_account=smart_account, virtual_account=virtual_account, actor=actor,
                 flows={DELEGATED})


def _move(
    *, lines: Iterable[OrderLine | int], smart_account: SmartAccount | int, virtual_account: VirtualAccount | int | None,
    actor: User, flows: set[str],
) -> list[OrderLine]:
    permissions.require_verified(actor)
    ids = _line_ids(lines)
    sa, va = _destination(smart_account, virtual_account)

    locked = {line.pk: line for line in _lock_lines(ids)}
    holding_ids = {line.smart_account_id for line in locked.values() if line.state == OrderLineState.HELD}
    # The lock order: the lines, then the accounts (SHARE: a role change there waits for this),
    # then the pools. The destination and the actor's rights are read again under these locks:
    # a role revoked while this waited refuses the move.
    account_hold(smart_accounts=holding_ids | {sa.pk}, virtual_accounts=[va] if va else [], acting=True)
    sa, va = _destination(sa.pk, va.pk if va else None)
    may_hold = set(
        permissions.visible_smart_accounts(actor, HOLD).filter(pk__in=holding_ids).values_list("pk", flat=True)
    ) if holding_ids else set()
    plan, failures, forbidden = _plan(ids, locked, actor, may_hold, flows)
    if failures:
        _conceal_unseen(failures, forbidden, locked, actor, may_hold)
    elif any(flow == DELEGATED for _, flow in plan):
        target = va or sa
        if not permissions.can(actor, OPERATE, target):
            raise ValidationError({"smart_account": f"Choose an account where you are an administrator or user; you may not add licenses to {target}."})
    if failures:
        _refuse(failures, forbidden, locked)

    _lock_target_pools(
        (line, sa, va) for line, flow in plan if flow == HELD or line.state == OrderLineState.AWAITING_ACCOUNT
    )
    owed = _Owed()
    for line, flow in plan:
        if flow == HELD:
            _move_held(line, sa, va, actor, owed)
        else:
            _assign_delegated(line, sa, va, actor, owed)
    owed.queue()
    return [line for line, _ in plan]


def _line_ids(lines: Iterable[OrderLine | int]) -> list[int]:
    ids = [_pk(line, OrderLine) for line in list(lines or [])]
    if not ids:
        raise ValidationError({"lines": "Choose the lines to move."})
    if None in ids:
        raise ValidationError({"lines": "Give the lines as order line ids."})
    return ids


def _destination(
    smart_account: SmartAccount | int, virtual_account: VirtualAccount | int | None
) -> tuple[SmartAccount, VirtualAccount | None]:
    """The active customer account (and VA, None for its default) the lines go to."""
    sa = SmartAccount.objects.filter(pk=_pk(smart_account, SmartAccount)).first()
    if sa is None:
        raise ValidationError({"smart_account": "No such Smart Account."})
    if sa.is_holding:
        raise ValidationError({"smart_account": "Choose a customer Smart Account; lines move out of holding accounts, not into them."})
    if sa.status != SmartAccountStatus.ACTIVE:
        raise ValidationError({"smart_account": f"{sa.name} is {sa.get_status_display().lower()}: lines move only into an active account."})
    va = None
    if virtual_account not in (None, ""):
        va = VirtualAccount.objects.filter(pk=_pk(virtual_account, VirtualAccount)).first()
        if va is None or va.smart_account_id != sa.pk:
            raise ValidationError({"virtual_account": f"Choose a Virtual Account of {sa.name}."})
    return sa, va


def _plan(
    ids: list[int], locked: dict[int, OrderLine], actor: User, may_hold: set[int], flows: set[str]
) -> tuple[list[tuple[OrderLine, str]], dict[int, str], set[int]]:
    """Each locked line's flow, or why it cannot move: (plan, {line id: reason}, the ids refused
    only for the actor's right to move them)."""
    plan: list[tuple[OrderLine, str]] = []
    failures: dict[int, str] = {}
    forbidden: set[int] = set()
    is_contact_verified = None
    for line_id in sorted(set(ids)):
        line = locked.get(line_id)
        if line is None:
            failures[line_id] = UNKNOWN
        elif line.state == OrderLineState.HELD:
            if HELD not in flows:
                failures[line_id] = "not a delegated line"
            elif line.smart_account_id in may_hold:
                plan.append((line, HELD))
            else:
                failures[line_id] = f"you are not a member of the holding account {line.smart_account.name}"
                forbidden.add(line_id)
        elif line.delegated and line.smart_account_id is None and line.state in (
            OrderLineState.BOOKED, OrderLineState.AWAITING_ACCOUNT
        ):
            if DELEGATED not in flows:
                failures[line_id] = "not held in a holding account"
                continue
            if not is_delegated_contact(actor, line):
                failures[line_id] = f"delegated to {line.order.end_customer_email}; only they choose its account"
            else:
                if is_contact_verified is None:
                    is_contact_verified = user_is_verified(actor)
                if is_contact_verified:
                    plan.append((line, DELEGATED))
                    continue
                failures[line_id] = "verify your email address first"
            forbidden.add(line_id)
        elif line.state == OrderLineState.PROVISIONED:
            failures[line_id] = f"already provisioned in {line.smart_account.name}"
        elif line.state == OrderLineState.BOOKED:
            failures[line_id] = "not shipped yet" if line.smart_account_id else "not assigned to a holding account"
        else:
            failures[line_id] = f"waiting for {line.smart_account.name} to be activated" if line.smart_account_id else "not movable"
    return plan, failures, forbidden


def _conceal_unseen(
    failures: dict[int, str], forbidden: set[int], locked: dict[int, OrderLine], actor: User, may_hold: set[int]
) -> None:
    """Lines the actor may not even see are reported as unknown, not described."""
    visible = set(
        OrderLine.objects.filter(pk__in=storable_ids(failures), order__in=orders_visible_to(actor).values("pk"))
        .values_list("pk", flat=True)
    )
    for line_id in failures:
        line = locked.get(line_id)
        if line is not None and line_id not in visible and not is_delegated_contact(actor, line) and line.smart_account_id not in may_hold:
            failures[line_id] = UNKNOWN
            forbidden.discard(line_id)


def _refuse(failures: dict[int, str], forbidden: set[int], locked: dict[int, OrderLine]) -> None:
    messages = [
        f"Line {line_id}" + (f" ({locked[line_id].reference})" if line_id in locked and failures[line_id] != UNKNOWN else "")
        + f": {reason}."
        for line_id, reason in sorted(failures.items())
    ]
    if set(failures) == forbidden:
        raise PermissionDenied(" ".join(messages))
    exc = ValidationError({"lines": messages})
    exc.failed_lines = dict(failures)
    raise exc


def _move_held(line: OrderLine, sa: SmartAccount, va: VirtualAccount | None, actor: User, owed: _Owed) -> None:
    holding = line.smart_account
    line.smart_account, line.virtual_account = sa, va
    line.save(update_fields=["smart_account", "virtual_account"])
    detail = {**_line_detail(line), "from": holding.name, "partner": holding.partner.name if holding.partner_id else "",
              "to": sa.name, "domain": sa.domain}
    event_record(smart_account=holding, action=EventAction.ORDER_LINE_MOVED, actor=actor, obj=line, detail=detail)
    event_record(smart_account=sa, action=EventAction.ORDER_LINE_MOVED, actor=actor, virtual_account=va, obj=line,
                 detail=detail)
    _provision(line, actor, owed)


def _assign_delegated(line: OrderLine, sa: SmartAccount, va: VirtualAccount | None, actor: User, owed: _Owed) -> None:
    line.smart_account, line.virtual_account = sa, va
    line.save(update_fields=["smart_account", "virtual_account"])
    event_record(smart_account=sa, action=EventAction.ORDER_LINE_ASSIGNED, actor=actor, virtual_account=va, obj=line,
                 detail={**_line_detail(line), "by": "end customer"})
    # The link for this line has done its job.
    Invitation.objects.filter(
        purpose=InvitationPurpose.ASSIGN_ORDER_LINE, object_key=object_key(line), used_at__isnull=True
    ).update(used_at=timezone.now())
    if line.state == OrderLineState.AWAITING_ACCOUNT:
        _provision(line, actor, owed)
