"""Placing an order (flow 5): a partner user orders products for an end customer, each line going
to a customer account, to a holding account, or delegated to the end-customer contact.

Per-line errors are keyed `lines.<index>.<field>` (0-based index into the `lines` list given,
field as given: `sku` or `product`, `quantity`, `smart_account`, `virtual_account`,
`delegate_to_end_customer`), e.g.
`{"lines.1.smart_account": ["L-SEC-K9 requires a Smart Account: …"]}`: a flat, field-keyed 400 for
the API; `lib.forms.line_errors(exc)` regroups them per line for a form."""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Upper

from accounts import permissions
from accounts.models import (
    EventAction,
    InvitationPurpose,
    Partner,
    PartnerKind,
    SmartAccount,
    SmartAccountStatus,
    User,
    VirtualAccount,
)
from accounts.selectors import partner_of
from accounts.services import event_record, invitation_create, notification_queue
from accounts.validators import clean_email, refuse_control_characters
from lib.ids import storable_ids
from licensing.models import Product
from licensing.services import SKU_PATTERN

from ..models import Order, OrderLine
from ._common import _email_context, _pk

MAX_LINES_PER_ORDER = 500
MAX_LINE_QUANTITY = 1_000_000

Errors = dict[str, list[str]]
LineError = Callable[[str, str], None]  # (field, message) of one line


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

    errors: Errors = defaultdict(list)
    name = _clean_customer_name(end_customer_name, errors)
    email = _clean_customer_email(end_customer_email, errors)
    reseller_obj = _clean_reseller(reseller, partner, errors)
    cleaned = _clean_lines(_line_list(lines, errors), partner, errors)
    if errors:
        raise ValidationError(dict(errors))

    order = _order_create(partner=partner, reseller=reseller_obj, actor=actor, name=name, email=email)
    created = _lines_create(order, cleaned)
    _record_placed(order, created, actor)
    _delegate_to_end_customer(order, [line for line in created if line.delegated], email)
    return order


# --- the order's own fields -------------------------------------------------------------


def _clean_customer_name(value: str, errors: Errors) -> str:
    name = " ".join((value or "").split())
    if not name:
        errors["end_customer_name"].append("Name the end customer.")
    elif len(name) > 200:
        errors["end_customer_name"].append("At most 200 characters.")
    else:
        try:
            refuse_control_characters(name, field="end_customer_name")
        except ValidationError as exc:
            errors["end_customer_name"].extend(exc.message_dict["end_customer_name"])
    return name


def _clean_customer_email(value: str, errors: Errors) -> str:
    email = (value or "").strip().lower()
    try:
        email = clean_email(email, field="end_customer_email", message="Enter the end-customer contact's email address.")
    except ValidationError as exc:
        errors["end_customer_email"].extend(exc.message_dict["end_customer_email"])
    return email


def _clean_reseller(reseller: Partner | int | None, partner: Partner, errors: Errors) -> Partner | None:
    if reseller in (None, ""):
        return None
    reseller_id = _pk(reseller, Partner)
    if partner.kind != PartnerKind.DISTRIBUTOR:
        errors["reseller"].append("Only a distributor orders through a reseller.")
    elif reseller_id is None or not partner.linked_resellers.filter(pk=reseller_id).exists():
        errors["reseller"].append(f"Choose one of {partner.name}'s linked resellers.")
    else:
        return Partner.objects.get(pk=reseller_id)
    return None


def _line_list(lines: Sequence[dict[str, Any]], errors: Errors) -> list:
    lines = list(lines or [])
    if not lines:
        errors["lines"].append("Add at least one line.")
    elif len(lines) > MAX_LINES_PER_ORDER:
        errors["lines"].append(f"An order has at most {MAX_LINES_PER_ORDER} lines.")
        return []
    return lines


# --- the lines ---------------------------------------------------------------------------


@dataclass
class _Named:
    """Everything the lines name, fetched once."""

    products: dict[str, Product]  # by upper-case SKU
    virtual_accounts: dict[int, VirtualAccount]
    smart_accounts: dict[int, SmartAccount]  # those named, and those of the Virtual Accounts named
    holding_partner_ids: set[int]

    @classmethod
    def fetch(cls, specs: list[dict[str, Any]], partner: Partner) -> _Named:
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
        return cls(products, vas, accounts, _allowed_holding_partner_ids(partner))


def _allowed_holding_partner_ids(partner: Partner) -> set[int]:
    """Whose holding accounts a partner may assign: its own; a distributor's also its linked resellers'."""
    ids = {partner.pk}
    if partner.kind == PartnerKind.DISTRIBUTOR:
        ids |= set(partner.linked_resellers.values_list("pk", flat=True))
    return ids


def _clean_lines(lines: list, partner: Partner, errors: Errors) -> list[dict[str, Any]]:
    named = _Named.fetch([spec for spec in lines if isinstance(spec, dict)], partner)
    cleaned: list[dict[str, Any]] = []
    for index, spec in enumerate(lines):
        if not isinstance(spec, dict):
            errors[f"lines.{index}.non_field_errors"].append("Each line is an object with a product and a quantity.")
            continue

        def error(field: str, message: str, index: int = index) -> None:
            errors[f"lines.{index}.{field}"].append(message)

        product = _clean_line_product(spec, named, error)
        quantity = _clean_line_quantity(spec, error)
        sa, va = _clean_line_destination(spec, product, partner, named, error)
        cleaned.append({
            "product": product, "quantity": quantity, "smart_account": sa, "virtual_account": va,
            # Nobody said where: the end customer will (they get the link).
            "delegated": sa is None,
        })
    return cleaned


def _clean_line_product(spec: dict[str, Any], named: _Named, error: LineError) -> Product | None:
    field = "product" if "product" in spec else "sku"
    product = spec.get("product")
    if not isinstance(product, Product):
        sku = str(spec.get("sku") or product or "").strip().upper()
        product = named.products.get(sku)
    if product is None:
        error(field, "Choose a product." if not spec.get(field) else f"No product has the SKU {spec.get(field)}.")
    elif not product.is_active:
        error(field, f"{product.sku} is no longer sold.")
    return product


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


def _clean_line_quantity(spec: dict[str, Any], error: LineError) -> int | None:
    quantity = _clean_quantity(spec.get("quantity"))
    if quantity is None or quantity < 1:
        error("quantity", "The quantity must be a whole number of at least 1.")
    elif quantity > MAX_LINE_QUANTITY:
        error("quantity", f"At most {MAX_LINE_QUANTITY:,} per line.")
    return quantity


def _clean_line_destination(
    spec: dict[str, Any], product: Product | None, partner: Partner, named: _Named, error: LineError
) -> tuple[SmartAccount | None, VirtualAccount | None]:
    """Where a line goes: (account, VA or None); (None, None) for a line delegated to the end customer."""
    delegate = bool(spec.get("delegate_to_end_customer"))
    raw_sa, raw_va = spec.get("smart_account"), spec.get("virtual_account")
    sa = va = None
    if raw_va not in (None, ""):
        va = named.virtual_accounts.get(_pk(raw_va, VirtualAccount))
        if va is None:
            error("virtual_account", "No such Virtual Account.")
    if raw_sa not in (None, ""):
        sa = named.smart_accounts.get(_pk(raw_sa, SmartAccount))
        if sa is None:
            error("smart_account", "No such Smart Account.")
    elif va is not None:
        sa = named.smart_accounts.get(va.smart_account_id)
    if delegate and (raw_sa not in (None, "") or raw_va not in (None, "")):
        error("delegate_to_end_customer", "A delegated line names no account: the end customer chooses it.")
        sa = va = None
    if sa is not None:
        if sa.is_holding:
            if sa.partner_id not in named.holding_partner_ids:
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
    return sa, va


# --- writing it ---------------------------------------------------------------------------


def _order_create(*, partner: Partner, reseller: Partner | None, actor: User, name: str, email: str) -> Order:
    # The number comes from the row's id, so two concurrent orders never share one.
    order = Order.objects.create(
        number=f"pending-{uuid.uuid4().hex[:12]}", partner=partner, reseller=reseller, placed_by=actor,
        end_customer_name=name, end_customer_email=email,
    )
    order.number = f"SO-{100000 + order.pk}"
    order.save(update_fields=["number"])
    return order


def _lines_create(order: Order, cleaned: list[dict[str, Any]]) -> list[OrderLine]:
    return [
        OrderLine.objects.create(
            order=order, number=n, product=spec["product"], quantity=spec["quantity"],
            smart_account=spec["smart_account"], virtual_account=spec["virtual_account"], delegated=spec["delegated"],
        )
        for n, spec in enumerate(cleaned, start=1)
    ]


def _record_placed(order: Order, created: list[OrderLine], actor: User) -> None:
    """One event per account the order's lines go to, listing that account's lines."""
    by_account: dict[int, list[OrderLine]] = defaultdict(list)
    for line in created:
        if line.smart_account_id:
            by_account[line.smart_account_id].append(line)
    for account_lines in by_account.values():
        sa = account_lines[0].smart_account
        va_set = {line.virtual_account_id for line in account_lines}
        event_record(
            smart_account=sa, action=EventAction.ORDER_PLACED, actor=actor, obj=order,
            virtual_account=account_lines[0].virtual_account if len(va_set) == 1 else None,
            detail={"order": order.number, "partner": order.partner.name, "end_customer": order.end_customer_name,
                    "lines": [{"line": line.number, "sku": line.product.sku, "quantity": line.quantity} for line in account_lines]},
        )


def _delegate_to_end_customer(order: Order, delegated: list[OrderLine], email: str) -> None:
    """Email the end-customer contact a link per delegated line to choose its account."""
    if not delegated:
        return
    links = []
    for line in delegated:
        _, path = invitation_create(purpose=InvitationPurpose.ASSIGN_ORDER_LINE, email=email, about=line)
        links.append({"line": line, "link": settings.SITE_URL + path})
    notification_queue(
        kind="order.delegated", about=order, recipients=[email], template="order_delegated",
        context={**_email_context(order, delegated, None), "delegations": links,
                 "expires_days": settings.INVITATION_MAX_AGE_DAYS},
    )
