"""Every write of the licensing app, one module per subdomain, in the order of the flow:
catalogue, entitlements (deposit, transfer), pools (the pool lock), compliance (shortages and
their alerts), tokens, devices, usage, classic_licenses (PAKs), snapshots, alerts (preferences
and the daily alerts). Keyword-only, atomic, `actor=` (None = the system, no checks);
permissions through `accounts.permissions`; an Event for each change that matters; emails
through the outbox.

This package re-exports each module's interface, so callers write `services.token_create(...)`.
Helpers one module lends another (`_checks`, `pools.pool_lock_query`, `alerts.account_url`) are
imported from their module, inside the package only; the modules import each other, never this
package. Services read through `licensing.selectors`; selectors never import services.

Lock order: one for every app, written in `accounts.services` (the ground floor). Here,
`pools.pool_lock` (a VA's pool, its account first) and `pools.account_hold` (the accounts only)
take the account and VA steps of it; with `acting=True` a service acting for a user holds role
changes off until it commits, and re-checks the user's right once it holds its locks."""
from ._checks import MAX_COUNT
from .alerts import ALERT_FLAGS, alert_preferences_update, alert_recipients, alerts_daily_queue
from .catalogue import (
    MAX_TERM_MONTHS,
    PRODUCT_UPDATABLE,
    SKU_PATTERN,
    normalise_sku,
    product_create,
    product_update,
    product_validate,
)
from .classic_licenses import (
    LICENSE_KEY_SALT,
    classic_license_convert,
    classic_license_create,
    classic_license_register,
    classic_license_verify,
)
from .compliance import compliance_reconcile, compliance_update
from .devices import DEVICE_SECRET_PREFIX, device_authenticate, device_move, device_register, device_remove
from .entitlements import MAX_ENTITLEMENT_QUANTITY, MAX_TRANSFER_LINES, TransferLine, entitlement_deposit, license_transfer
from .pools import account_hold, pool_lock
from .snapshots import usage_snapshot_take
from .tokens import TOKEN_DEFAULT_DAYS, TOKEN_MAX_DAYS, TOKEN_PREFIX, token_create, token_revoke
from .usage import MAX_REPORT_ITEMS, UsageItem, device_report_usage

__all__ = [
    # catalogue
    "SKU_PATTERN", "MAX_TERM_MONTHS", "PRODUCT_UPDATABLE", "normalise_sku", "product_validate", "product_create",
    "product_update",
    # entitlements
    "MAX_ENTITLEMENT_QUANTITY", "MAX_TRANSFER_LINES", "TransferLine", "entitlement_deposit", "license_transfer",
    # pools
    "pool_lock", "account_hold",
    # compliance
    "compliance_update", "compliance_reconcile",
    # tokens
    "TOKEN_PREFIX", "TOKEN_DEFAULT_DAYS", "TOKEN_MAX_DAYS", "MAX_COUNT", "token_create", "token_revoke",
    # devices
    "DEVICE_SECRET_PREFIX", "device_register", "device_authenticate", "device_move", "device_remove",
    # usage
    "MAX_REPORT_ITEMS", "UsageItem", "device_report_usage",
    # classic licenses
    "LICENSE_KEY_SALT", "classic_license_create", "classic_license_register", "classic_license_verify",
    "classic_license_convert",
    # snapshots
    "usage_snapshot_take",
    # alerts
    "ALERT_FLAGS", "alert_preferences_update", "alert_recipients", "alerts_daily_queue",
]
