"""Reads of licensing data for pages, the API and the services, one module per subject: pools
(one Virtual Account's own pool and its standing), licenses (the scope of a read, roll-ups over
many VAs, the license tree), products (a product's detail), devices, tokens, classic_licenses
(PAKs), snapshots (usage over time,
reconciliation), alerts (preferences) and dashboards (compliance at a glance). Each answers in
a fixed number of queries.

This package re-exports each module's interface, so callers write `selectors.devices(...)`; the
modules import each other, never this package. Selectors never import services."""
from .alerts import alert_preferences, alert_preferences_of
from .classic_licenses import classic_licenses
from .dashboards import (
    AccountCompliance,
    ComplianceDashboard,
    accounts_compliance,
    compliance_dashboard,
    open_shortages,
    subscriptions_ending,
)
from .devices import devices, silent_devices
from .licenses import (
    VirtualAccountLicenses,
    license_summary,
    license_tree,
    license_tree_summary,
    smart_account_license_summary,
    virtual_account_license_summary,
    virtual_accounts_in_scope,
)
from .pools import (
    CONSUMPTION_ORDER,
    LicenseLine,
    PoolStanding,
    active_entitlements,
    entitlements_for,
    pool_position,
    pool_positions,
    pool_standing,
    pool_standing_of,
    pool_standing_sql,
    pool_totals,
)
from .products import product_devices, product_entitlements, product_events
from .snapshots import PERIOD_MAX_DAYS, ReconciliationLine, UsageSeries, check_period, reconciliation, usage_series
from .tokens import tokens

__all__ = [
    # pools
    "LicenseLine", "CONSUMPTION_ORDER", "PoolStanding", "active_entitlements", "entitlements_for", "pool_totals",
    "pool_position", "pool_positions", "pool_standing", "pool_standing_sql", "pool_standing_of",
    # licenses
    "VirtualAccountLicenses", "virtual_accounts_in_scope", "license_summary", "virtual_account_license_summary",
    "smart_account_license_summary", "license_tree", "license_tree_summary",
    # products
    "product_entitlements", "product_devices", "product_events",
    # devices
    "devices", "silent_devices",
    # tokens
    "tokens",
    # classic licenses
    "classic_licenses",
    # snapshots
    "PERIOD_MAX_DAYS", "check_period", "UsageSeries", "usage_series", "ReconciliationLine", "reconciliation",
    # alerts
    "alert_preferences", "alert_preferences_of",
    # dashboards
    "open_shortages", "subscriptions_ending", "ComplianceDashboard", "compliance_dashboard", "AccountCompliance",
    "accounts_compliance",
]
