"""Pages of the licensing app (mounted under /licensing/): per Smart Account (`sa/<id>/…`) or per
Virtual Account with its subtree (`va/<id>/…`): the dashboard, licenses per product and their
transfer, registration tokens, devices, classic licenses (PAKs), reconciliation and alert
preferences; the event log among them is accounts.views.events, mounted by licensing.urls. Each
view finds what the user may see (404 otherwise), binds a form, calls one service (which checks
the right to act: 403) or selector, and redirects with a message.

One module per area, on top of `scope` (what a page covers); licensing.urls imports the views
from here."""

from .classic import classic_license_convert, classic_license_detail, classic_license_list, classic_license_register
from .dashboards import alert_preferences, dashboard, index, reconciliation, reconciliation_export
from .devices import device_list, device_move, device_remove
from .licenses import license_detail, license_export, license_list, license_transfer, license_transfer_available
from .scope import PER_PAGE, ScopeUrls
from .tokens import token_create, token_list, token_revoke
