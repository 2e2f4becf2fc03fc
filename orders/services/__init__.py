"""Every write of the orders app, one module per flow: placing (orders, flow 5), shipping (flows
6 and 7), provisioning (a shipped line into its account; lines waiting for an activated account),
moving (held lines out of holding accounts, flow 8; delegated lines into the contact's account),
reminders (subscriptions ending, flow 7) and digests (the weekly digest of holding accounts).

Keyword-only, atomic, `actor=` (None = the system). Forbidden → PermissionDenied; invalid →
field-keyed ValidationError. Every change to an order line records an Event on each account it
touches, and owes its emails through the outbox (`accounts.services.notification_queue`).

This package re-exports each module's interface, so callers write `services.order_place(...)`.
The modules import each other (`_common` holds what they share), never this package."""
from ._common import LINE_RELATED, _Owed
from .digests import DIGEST_MAX_LINES, holding_digest_key, holding_digests_queue
from .moving import order_line_assign_delegated, order_line_move_from_holding, order_line_move_to_account
from .placing import MAX_LINE_QUANTITY, MAX_LINES_PER_ORDER, order_place
from .provisioning import order_lines_provision_for_account
from .reminders import subscription_reminders_queue
from .shipping import order_line_ship, order_ship

__all__ = [
    "LINE_RELATED",
    # placing
    "MAX_LINES_PER_ORDER", "MAX_LINE_QUANTITY", "order_place",
    # shipping and provisioning
    "order_line_ship", "order_ship", "order_lines_provision_for_account",
    # moving
    "order_line_move_to_account", "order_line_move_from_holding", "order_line_assign_delegated",
    # reminders and digests
    "subscription_reminders_queue", "DIGEST_MAX_LINES", "holding_digest_key", "holding_digests_queue",
]
