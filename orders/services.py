"""Every write of the orders app: placing orders, shipping lines, provisioning them into customer
accounts, moving them out of holding accounts, and the subscription reminders (DESIGN.md flows 5–8).

Keyword-only, atomic, `actor=` (None = the system). Forbidden → PermissionDenied; invalid →
field-keyed ValidationError. Every change to an order line records an Event on each account it
touches, and owes its emails through the outbox (`accounts.services.notification_queue`).

Per-line errors of `order_place` are keyed `lines.<index>.<field>` (0-based index into the
`lines` list given, field as given: `sku` or `product`, `quantity`, `smart_account`,
`virtual_account`, `delegate_to_end_customer`), e.g.
`{"lines.1.smart_account": ["L-SEC-K9 requires a Smart Account: …"]}`: a flat, field-keyed 400 for
the API; `lib.forms.line_errors(exc)` regroups them per line for a form.
"""
from __future__ import annotations

import datetime
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone

from accounts import permissions
from accounts.models import (
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerKind,
    Role,
    SmartAccount,
    SmartAccountStatus,
    User,
    VirtualAccount,
)
from accounts.permissions import HOLD, OPERATE
from accounts.services import (
    event_record,
    invitation_create,
    notification_dispatch_on_commit,
    notification_queue,
    notification_queue_many,
    object_key,
    partner_of,
    user_is_verified,
)
from accounts.validators import clean_day, clean_email, refuse_control_characters
from lib.dates import add_months
from lib.ids import storable_ids
from licensing.models import (
    AlertPreferences,
    EntitlementSource,
    LicenseKind,
    Product,
    default_expiry_windows,
)
from licensing.selectors import alert_preferences_of
from licensing.services import SKU_PATTERN, classic_license_create, entitlement_deposit, pool_lock

from .models import Order, OrderLine, OrderLineState
from .selectors import held_line_age, holding_stale_days, orders_visible_to

MAX_LINES_PER_ORDER = 500
MAX_LINE_QUANTITY = 1_000_000

# What a line needs in memory for events, emails and provisioning, in one query.
LINE_RELATED = ("order", "order__partner", "order__placed_by", "product", "smart_account", "virtual_account", "held_in")


# --- small helpers ----------------------------------------------------------------------


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
    emails = list(
        User.objects.filter(
            smartaccountrole__content_object=sa, smartaccountrole__permission__codename=Role.SA_ADMIN,
            is_active=True,
        ).values_list("email", flat=True)
    )
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


# --- placing an order (flow 5) ----------------------------------------------------------


def _allowed_holding_partner_ids(partner: Partner) -> set[int]:
    """Whose holding accounts a partner may assign: its own; a distributor's also its linked resellers'."""
    ids = {partner.pk}
    if partner.kind == PartnerKind.DISTRIBUTOR:
        ids |= set(partner.linked_resellers.values_list("pk", flat=True))
    return ids


def _clean_quantity(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        quantity = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None
    if isinstance(value, float) and value != quantity:
        return None
    return quantity


@transaction.atomic
def order_place(
    *,
    actor: User,
    end_customer_name: str,
    end_customer_email: str,
    lines: Sequence[dict[str, Any]],
    reseller: Partner | int | None = None,
) -> Order:
    """A partner user orders products for an end customer (flow 5).

    Each line: `{product: Product | sku: str, quantity: int, smart_account?, virtual_account?,
    delegate_to_end_customer?: bool}`. A line goes to a customer Smart Account (new or active; no
    role needed, depositing gives and never takes) and optionally one of its Virtual Accounts
    (else the account's default, chosen when it is provisioned); or to a holding account of the
    ordering partner (a distributor: also of its linked resellers); or it is delegated to the
    end-customer contact, who is emailed a link per line to choose their account. A line of an
    `sa_required` product must say which; a line of another product that says nothing is
    delegated. Every error is reported at once, per line (see the module docstring)."""
    partner = partner_of(actor)
    if partner is None:
        raise PermissionDenied("Only partner users can place orders.")
    permissions.require_verified(actor)

    errors: dict[str, list[str]] = defaultdict(list)
    name = " ".join((end_customer_name or "").split())
    if not name:
        errors["end_customer_name"].append("Name the end customer.")
    elif len(name) > 200:
        errors["end_customer_name"].append("At most 200 characters.")
    else:
        try:
            refuse_control_characters(name, field="end_customer_name")
        except ValidationError as exc:
            errors["end_customer_name"].extend(exc.message_dict["end_customer_name"])
    email = (end_customer_email or "").strip().lower()
    try:
        email = clean_email(email, field="end_customer_email", message="Enter the end-customer contact's email address.")
    except ValidationError as exc:
        errors["end_customer_email"].extend(exc.message_dict["end_customer_email"])

    reseller_obj = None
    if reseller not in (None, ""):
        reseller_id = _pk(reseller, Partner)
        if partner.kind != PartnerKind.DISTRIBUTOR:
            errors["reseller"].append("Only a distributor orders through a reseller.")
        elif reseller_id is None or not partner.linked_resellers.filter(pk=reseller_id).exists():
            errors["reseller"].append(f"Choose one of {partner.name}'s linked resellers.")
        else:
            reseller_obj = Partner.objects.get(pk=reseller_id)

    lines = list(lines or [])
    if not lines:
        errors["lines"].append("Add at least one line.")
    elif len(lines) > MAX_LINES_PER_ORDER:
        errors["lines"].append(f"An order has at most {MAX_LINES_PER_ORDER} lines.")
        lines = []

    # Everything the lines name, fetched once.
    specs = [spec for spec in lines if isinstance(spec, dict)]
    skus = {
        str(spec.get("sku") or spec.get("product") or "").strip().upper()
        for spec in specs if not isinstance(spec.get("product"), Product)
    }
    # Only what could be a SKU is looked up (a NUL in a query is a DataError on PostgreSQL).
    skus = {sku for sku in skus if SKU_PATTERN.match(sku)}
    products = {p.sku.upper(): p for p in Product.objects.annotate(usku=Upper("sku")).filter(usku__in=skus)}
    sa_ids = storable_ids({_pk(spec.get("smart_account"), SmartAccount) for spec in specs} - {None})
    va_ids = storable_ids({_pk(spec.get("virtual_account"), VirtualAccount) for spec in specs} - {None})
    vas = VirtualAccount.objects.in_bulk(va_ids)
    accounts = SmartAccount.objects.in_bulk(sa_ids | {va.smart_account_id for va in vas.values()})
    holding_partners = _allowed_holding_partner_ids(partner)

    cleaned: list[dict[str, Any]] = []
    for index, spec in enumerate(lines):
        def error(field: str, message: str) -> None:
            errors[f"lines.{index}.{field}"].append(message)

        if not isinstance(spec, dict):
            errors[f"lines.{index}.non_field_errors"].append("Each line is an object with a product and a quantity.")
            continue
        # The product.
        product_field = "product" if "product" in spec else "sku"
        product = spec.get("product")
        if not isinstance(product, Product):
            sku = str(spec.get("sku") or product or "").strip().upper()
            product = products.get(sku)
        if product is None:
            error(product_field, "Choose a product." if not spec.get(product_field) else f"No product has the SKU {spec.get(product_field)}.")
        elif not product.is_active:
            error(product_field, f"{product.sku} is no longer sold.")
        # The quantity.
        quantity = _clean_quantity(spec.get("quantity"))
        if quantity is None or quantity < 1:
            error("quantity", "The quantity must be a whole number of at least 1.")
        elif quantity > MAX_LINE_QUANTITY:
            error("quantity", f"At most {MAX_LINE_QUANTITY:,} per line.")
        # The assignment.
        delegate = bool(spec.get("delegate_to_end_customer"))
        raw_sa, raw_va = spec.get("smart_account"), spec.get("virtual_account")
        sa = va = None
        if raw_va not in (None, ""):
            va = vas.get(_pk(raw_va, VirtualAccount))
            if va is None:
                error("virtual_account", "No such Virtual Account.")
        if raw_sa not in (None, ""):
            sa = accounts.get(_pk(raw_sa, SmartAccount))
            if sa is None:
                error("smart_account", "No such Smart Account.")
        elif va is not None:
            sa = accounts.get(va.smart_account_id)
        if delegate and (raw_sa not in (None, "") or raw_va not in (None, "")):
            error("delegate_to_end_customer", "A delegated line names no account: the end customer chooses it.")
            sa = va = None
        if sa is not None:
            if sa.is_holding:
                if sa.partner_id not in holding_partners:
                    error("smart_account", "Choose one of your own holding accounts"
                          + (" or one of your linked resellers'." if partner.kind == PartnerKind.DISTRIBUTOR else "."))
                elif sa.status != SmartAccountStatus.ACTIVE:
                    error("smart_account", f"The holding account {sa.name} is {sa.get_status_display().lower()}.")
            elif sa.status == SmartAccountStatus.SUSPENDED:
                error("smart_account", f"The Smart Account {sa.name} is suspended; choose another account.")
            if va is not None and va.smart_account_id != sa.pk:
                error("virtual_account", f"That Virtual Account is not in {sa.name}.")
        elif not delegate and product is not None and product.sa_required:
            error("smart_account", f"{product.sku} requires a Smart Account: choose a customer account or a holding "
                                   "account, or delegate the line to the end customer.")
        cleaned.append({
            "product": product, "quantity": quantity, "smart_account": sa, "virtual_account": va,
            # Nobody said where: the end customer will (they get the link).
            "delegated": sa is None,
        })
    if errors:
        raise ValidationError(dict(errors))

    # The number comes from the row's id, so two concurrent orders never share one.
    order = Order.objects.create(
        number=f"pending-{uuid.uuid4().hex[:12]}", partner=partner, reseller=reseller_obj, placed_by=actor,
        end_customer_name=name, end_customer_email=email,
    )
    order.number = f"SO-{100000 + order.pk}"
    order.save(update_fields=["number"])
    created = [
        OrderLine.objects.create(
            order=order, number=n, product=spec["product"], quantity=spec["quantity"],
            smart_account=spec["smart_account"], virtual_account=spec["virtual_account"], delegated=spec["delegated"],
        )
        for n, spec in enumerate(cleaned, start=1)
    ]

    by_account: dict[int, list[OrderLine]] = defaultdict(list)
    for line in created:
        if line.smart_account_id:
            by_account[line.smart_account_id].append(line)
    for account_lines in by_account.values():
        sa = account_lines[0].smart_account
        va_set = {line.virtual_account_id for line in account_lines}
        event_record(
            smart_account=sa, action="order.placed", actor=actor, obj=order,
            virtual_account=account_lines[0].virtual_account if len(va_set) == 1 else None,
            detail={"order": order.number, "partner": partner.name, "end_customer": name,
                    "lines": [{"line": line.number, "sku": line.product.sku, "quantity": line.quantity} for line in account_lines]},
        )

    delegated = [line for line in created if line.delegated]
    if delegated:
        links = []
        for line in delegated:
            _, path = invitation_create(purpose=InvitationPurpose.ASSIGN_ORDER_LINE, email=email, about=line)
            links.append({"line": line, "link": settings.SITE_URL + path})
        notification_queue(
            kind="order.delegated", about=order, recipients=[email], template="order_delegated",
            context={**_email_context(order, delegated, None), "delegations": links,
                     "expires_days": settings.INVITATION_MAX_AGE_DAYS},
        )
    return order


# --- shipping (flows 6 and 7) -----------------------------------------------------------


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
    event_record(smart_account=sa, action="order_line.provisioned", actor=actor, virtual_account=line.virtual_account,
                 obj=line, detail=_line_detail(line))
    owed.add(kind="licenses.deposited", template="order_licenses_deposited", line=line, recipients=_sa_admin_emails(sa))


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
        event_record(smart_account=sa, action="order_line.shipped", actor=actor, virtual_account=line.virtual_account,
                     obj=line, detail={**_line_detail(line), "shipped_on": shipped_on.isoformat(), "state": line.state})
    if line.product.term_months:
        if sa is not None:
            event_record(
                smart_account=sa, action="subscription.started", actor=actor, virtual_account=line.virtual_account,
                obj=line, detail={**_line_detail(line), "starts_on": line.starts_on.isoformat(),
                                  "ends_on": line.ends_on.isoformat()},
            )
        owed.add(kind="subscription.started", template="subscription_started", line=line, recipients=_recipients_for(line))
    if sa is not None and sa.is_holding:
        owed.add(kind="order.fulfilled", template="order_fulfilled", line=line, recipients=_holding_notify_emails(sa))
    elif sa is not None and sa.is_active:
        _provision(line, actor, owed)


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


# --- moving lines to a customer account (flow 8) ----------------------------------------


@transaction.atomic
def order_line_move_to_account(
    *,
    lines: Iterable[OrderLine | int],
    smart_account: SmartAccount | int,
    actor: User,
    virtual_account: VirtualAccount | int | None = None,
) -> list[OrderLine]:
    """Move lines to an active customer Smart Account (+ Virtual Account, default the account's
    default), all or none (flow 8):

    - `held` lines, by members of their holding account: provisioned there now, once. A partner
      needs no role in the customer's account (depositing gives and never takes);
    - delegated lines whose account is not chosen yet, by the end-customer contact (verified
      email = the order's contact email), into an account where they may operate: assigned, and
      provisioned at once if already shipped (else when shipped).

    The lines are locked and their state re-checked under the lock, so moving a line twice, or
    two people moving it at once, deposits it once. If any line cannot move, nothing moves and
    a ValidationError keyed `lines` names each such line and why (also as `exc.failed_lines`,
    {line id: reason}); lines the actor may not see are only "no such order line". If the only
    reason is the actor's right to move lines they can see, it is PermissionDenied instead."""
    permissions.require_verified(actor)
    raw_ids = list(lines or [])
    ids = [_pk(line, OrderLine) for line in raw_ids]
    if not ids:
        raise ValidationError({"lines": "Choose the lines to move."})
    if None in ids:
        raise ValidationError({"lines": "Give the lines as order line ids."})

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

    locked = {line.pk: line for line in _lock_lines(ids)}
    holding_ids = {line.smart_account_id for line in locked.values() if line.state == OrderLineState.HELD}
    may_hold = set(
        permissions.visible_smart_accounts(actor, HOLD).filter(pk__in=holding_ids).values_list("pk", flat=True)
    ) if holding_ids else set()
    is_contact_verified = None

    failures: dict[int, str] = {}
    forbidden: set[int] = set()
    plan: list[tuple[OrderLine, str]] = []
    for line_id in sorted(set(ids)):
        line = locked.get(line_id)
        if line is None:
            failures[line_id] = "no such order line"
            continue
        if line.state == OrderLineState.HELD:
            if line.smart_account_id in may_hold:
                plan.append((line, "held"))
            else:
                failures[line_id] = f"you are not a member of the holding account {line.smart_account.name}"
                forbidden.add(line_id)
            continue
        if line.delegated and line.smart_account_id is None and line.state in (
            OrderLineState.BOOKED, OrderLineState.AWAITING_ACCOUNT
        ):
            if actor.email.lower() == line.order.end_customer_email.lower():
                if is_contact_verified is None:
                    is_contact_verified = user_is_verified(actor)
                if is_contact_verified:
                    plan.append((line, "delegated"))
                    continue
                failures[line_id] = "verify your email address first"
            else:
                failures[line_id] = f"delegated to {line.order.end_customer_email}; only they choose its account"
            forbidden.add(line_id)
            continue
        if line.state == OrderLineState.PROVISIONED:
            failures[line_id] = f"already provisioned in {line.smart_account.name}"
        elif line.state == OrderLineState.BOOKED:
            failures[line_id] = "not shipped yet" if line.smart_account_id else "not assigned to a holding account"
        else:
            failures[line_id] = f"waiting for {line.smart_account.name} to be activated" if line.smart_account_id else "not movable"

    # Lines the actor may not even see are reported as unknown, not described.
    if failures:
        visible = set(
            OrderLine.objects.filter(pk__in=storable_ids(failures), order__in=orders_visible_to(actor).values("pk"))
            .values_list("pk", flat=True)
        )
        for line_id in failures:
            line = locked.get(line_id)
            delegated_to_actor = line is not None and line.order.end_customer_email.lower() == actor.email.lower()
            if line is not None and line_id not in visible and not delegated_to_actor and line.smart_account_id not in may_hold:
                failures[line_id] = "no such order line"
                forbidden.discard(line_id)

    if any(kind == "delegated" for _, kind in plan) and not failures:
        target = va or sa
        if not permissions.can(actor, OPERATE, target):
            raise ValidationError({"smart_account": f"Choose an account where you are an administrator or user; you may not add licenses to {target}."})

    if failures:
        messages = [
            f"Line {line_id}" + (f" ({locked[line_id].reference})" if line_id in locked and failures[line_id] != "no such order line" else "")
            + f": {reason}."
            for line_id, reason in sorted(failures.items())
        ]
        if set(failures) == forbidden:
            raise PermissionDenied(" ".join(messages))
        exc = ValidationError({"lines": messages})
        exc.failed_lines = dict(failures)
        raise exc

    _lock_target_pools((line, sa, va) for line, kind in plan if kind == "held" or line.state == OrderLineState.AWAITING_ACCOUNT)
    owed = _Owed()
    moved = []
    for line, kind in plan:
        if kind == "held":
            holding = line.smart_account
            line.smart_account, line.virtual_account = sa, va
            line.save(update_fields=["smart_account", "virtual_account"])
            detail = {**_line_detail(line), "from": holding.name, "partner": holding.partner.name if holding.partner_id else "",
                      "to": sa.name, "domain": sa.domain}
            event_record(smart_account=holding, action="order_line.moved", actor=actor, obj=line, detail=detail)
            event_record(smart_account=sa, action="order_line.moved", actor=actor, virtual_account=va, obj=line, detail=detail)
            _provision(line, actor, owed)
        else:
            line.smart_account, line.virtual_account = sa, va
            line.save(update_fields=["smart_account", "virtual_account"])
            event_record(smart_account=sa, action="order_line.assigned", actor=actor, virtual_account=va, obj=line,
                         detail={**_line_detail(line), "by": "end customer"})
            # The link for this line has done its job.
            Invitation.objects.filter(
                purpose=InvitationPurpose.ASSIGN_ORDER_LINE, object_key=object_key(line), used_at__isnull=True
            ).update(used_at=timezone.now())
            if line.state == OrderLineState.AWAITING_ACCOUNT:
                _provision(line, actor, owed)
        moved.append(line)
    owed.queue()
    return moved


# --- subscription reminders (flow 7) ----------------------------------------------------


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
    from accounts.models import Notification

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


# --- the weekly digest of holding accounts (issue 4) ------------------------------------

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
