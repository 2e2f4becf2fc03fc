"""Provisioning a shipped line into its customer account (entitlements or a PAK), once; and the
lines that waited for a `new` account when it is activated (flow 6)."""
from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import EventAction, SmartAccount, User, VirtualAccount
from accounts.services import event_record
from licensing.models import EntitlementSource, LicenseKind
from licensing.services import classic_license_create, entitlement_deposit, pool_lock

from ..models import OrderLine, OrderLineState
from ._common import _line_detail, _lock_lines, _Owed, _root_virtual_account, _sa_admin_emails


def _lock_target_pools(targets: Iterable[tuple[OrderLine, SmartAccount, VirtualAccount | None]]) -> None:
    """Lock, in one go and in pool_lock's global order, every pool these lines will be deposited
    into (line, its target account, its target VA or None for the default); depositing line by
    line would lock them in line order and could deadlock against a transfer between the same
    Virtual Accounts."""
    vas = {
        (va or _root_virtual_account(sa)).pk
        for line, sa, va in targets
        if line.product.license_kind == LicenseKind.SMART
    }
    if vas:
        pool_lock(vas)


def _provision(line: OrderLine, actor: User | None, owed: _Owed) -> None:
    """Deposit a locked, shipped line into its (active, customer) account: entitlements in its
    Virtual Account for a smart product, a PAK for a classic one. Called once per line: every
    caller holds the line's lock and has checked its state."""
    sa = line.smart_account
    if line.entitlements.exists() or line.classic_licenses.exists():
        raise ValidationError({"lines": f"{line.reference} was provisioned already."})
    if line.product.license_kind == LicenseKind.SMART:
        va = line.virtual_account or _root_virtual_account(sa)
        entitlement = entitlement_deposit(
            virtual_account=va, product=line.product, quantity=line.quantity, source=EntitlementSource.ORDER,
            source_ref=line.reference, starts_on=line.starts_on, ends_on=line.ends_on, actor=actor,
        )
        line.entitlements.add(entitlement)
        line.virtual_account = va
    else:
        pak = classic_license_create(
            smart_account=sa, product=line.product, quantity=line.quantity, source_ref=line.reference, actor=actor
        )
        line.classic_licenses.add(pak)
    line.state = OrderLineState.PROVISIONED
    line.provisioned_at = timezone.now()
    line.save(update_fields=["virtual_account", "state", "provisioned_at"])
    event_record(smart_account=sa, action=EventAction.ORDER_LINE_PROVISIONED, actor=actor,
                 virtual_account=line.virtual_account, obj=line, detail=_line_detail(line))
    owed.add(kind="licenses.deposited", template="order_licenses_deposited", line=line, recipients=_sa_admin_emails(sa))


@transaction.atomic
def order_lines_provision_for_account(*, smart_account: SmartAccount, actor: User | None) -> list[OrderLine]:
    """A `new` account was activated: provision its shipped lines that waited for it. Lines that
    are still booked wait for shipping; a line provisions once (locked, state re-checked)."""
    sa = SmartAccount.objects.get(pk=smart_account.pk)
    if sa.is_holding or not sa.is_active:
        return []
    ids = OrderLine.objects.filter(smart_account=sa, state=OrderLineState.AWAITING_ACCOUNT).values_list("pk", flat=True)
    owed = _Owed()
    provisioned = []
    lines = _lock_lines(list(ids))
    _lock_target_pools((line, sa, line.virtual_account) for line in lines)
    for line in lines:
        if line.state == OrderLineState.AWAITING_ACCOUNT and line.smart_account_id == sa.pk and line.shipped_on:
            _provision(line, actor, owed)
            provisioned.append(line)
    owed.queue()
    return provisioned
