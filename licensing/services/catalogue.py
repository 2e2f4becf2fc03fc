"""The product catalogue (staff only): the SKU rules, adding and changing products. The catalogue
is not per account, so its changes record no Event (the event log is per Smart Account)."""
from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import permissions
from accounts.models import User

from ..models import LicenseKind, Product
from ._checks import clean_text

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._/+=-]*$")
MAX_TERM_MONTHS = 120


def normalise_sku(value) -> str:
    """SKUs are stored stripped and upper-case, so that `l-isr-sec` and `L-ISR-SEC ` are one product."""
    return str(value or "").strip().upper()


def product_validate(
    *,
    sku: str,
    name: str,
    family: str,
    license_kind: str,
    term_months: int | None = None,
    instance: Product | None = None,
) -> dict:
    """The catalogue's rules, shared by `product_create`, `product_update` and the admin form:
    the cleaned `sku` (stripped, upper-case, unique case-insensitively; `instance` is the
    product being changed, so its own SKU is not a duplicate), `name`, `family` (required),
    `license_kind`, `term_months` (None or 1..120). Raises ValidationError by field."""
    errors: dict[str, list[str]] = {}
    cleaned: dict = {}
    for field, clean in (
        ("sku", lambda: _clean_sku(sku)),
        ("name", lambda: clean_text(name, field="name", label="A name", max_length=200)),
        ("family", lambda: clean_text(family, field="family", label="A family", max_length=100)),
        ("license_kind", lambda: _clean_license_kind(license_kind)),
        ("term_months", lambda: _clean_term_months(term_months)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    duplicates = Product.objects.filter(sku__iexact=cleaned["sku"])
    if instance is not None and instance.pk is not None:
        duplicates = duplicates.exclude(pk=instance.pk)
    if duplicates.exists():
        raise ValidationError({"sku": f"A product with SKU {cleaned['sku']} already exists."})
    return cleaned


def _clean_sku(sku) -> str:
    value = normalise_sku(sku)
    if not value:
        raise ValidationError({"sku": "A SKU is required."})
    if len(value) > 60:
        raise ValidationError({"sku": "A SKU has at most 60 characters."})
    if not SKU_PATTERN.match(value):
        raise ValidationError({"sku": "A SKU is letters, digits and - _ . / + = only, without spaces."})
    return value


def _clean_license_kind(license_kind) -> str:
    if license_kind not in LicenseKind.values:
        raise ValidationError({"license_kind": "Choose smart or classic."})
    return str(license_kind)


def _clean_term_months(term_months) -> int | None:
    if term_months is None or term_months == "":
        return None
    if isinstance(term_months, bool):
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    try:
        months = int(term_months)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise ValidationError({"term_months": "Give a number of months, or leave it empty for a perpetual license."})
    if months != term_months and str(months) != str(term_months).strip():
        raise ValidationError({"term_months": "Give a whole number of months."})
    if not 1 <= months <= MAX_TERM_MONTHS:
        raise ValidationError({"term_months": f"A subscription lasts 1 to {MAX_TERM_MONTHS} months."})
    return months


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    family: str,
    license_kind: str,
    term_months: int | None = None,
    sa_required: bool = False,
    is_active: bool = True,
    smart_equivalent: Product | None = None,
    actor: User | None,
) -> Product:
    """Add a product to the catalogue (staff only). The catalogue is not per account, so no
    Event is recorded (the event log is per Smart Account)."""
    _require_catalogue_manager(actor)
    cleaned = product_validate(sku=sku, name=name, family=family, license_kind=license_kind, term_months=term_months)
    product = Product(
        **cleaned, sa_required=bool(sa_required), is_active=bool(is_active), smart_equivalent=smart_equivalent
    )
    return _product_save(product, cleaned["sku"])


PRODUCT_UPDATABLE = ("sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active", "smart_equivalent")


@transaction.atomic
def product_update(*, product: Product, actor: User | None, **fields) -> Product:
    """Change a catalogue product (staff only), with the same rules as `product_create`:
    fields not given keep their current values. No Event (the catalogue is not per account)."""
    _require_catalogue_manager(actor)
    unknown = set(fields) - set(PRODUCT_UPDATABLE)
    if unknown:
        raise TypeError(f"product_update does not change {', '.join(sorted(unknown))}")
    current = Product.objects.select_for_update().get(pk=product.pk)
    validated = {key: fields.get(key, getattr(current, key)) for key in ("sku", "name", "family", "license_kind", "term_months")}
    cleaned = product_validate(**validated, instance=current)
    for key, value in cleaned.items():
        setattr(current, key, value)
    for key in ("sa_required", "is_active"):
        if key in fields:
            setattr(current, key, bool(fields[key]))
    if "smart_equivalent" in fields:
        current.smart_equivalent = fields["smart_equivalent"]
    return _product_save(current, cleaned["sku"])


def _product_save(product: Product, sku: str) -> Product:
    product.full_clean(validate_unique=False)
    try:
        with transaction.atomic():  # a concurrent create of the same SKU loses here, cleanly
            product.save()
    except IntegrityError:
        raise ValidationError({"sku": f"A product with SKU {sku} already exists."})
    return product


def _require_catalogue_manager(actor: User | None) -> None:
    if actor is not None and not permissions.can_manage_catalogue(actor):
        raise PermissionDenied("Only staff can manage the product catalogue.")
