"""Every write of the accounts app, one module per subject: events (the event log every app
writes to), outbox (owed emails and their sending), users (and API keys), partners,
invitations, smart_accounts, holding_accounts, virtual_accounts, roles, access_requests,
support, privacy (closing a user's account).

Each service is keyword-only, atomic, takes `actor=` (None = the system), checks the actor's
right through `accounts.permissions`, validates with field-keyed ValidationErrors, records an
Event and queues its emails on commit.

This package re-exports each module's interface, so callers write `services.role_grant(...)`.
Helpers one module lends another (`_checks`, `roles._role_set`, `partners._require_partner_admin`)
are imported from their module, inside the package only; the modules import each other, never
this package. Services read through `accounts.selectors`; selectors never import services.

Lock order, for every app (PostgreSQL; SQLite serialises every write). A write takes its row locks
in this order, each kind by ascending id, and never one of an earlier kind after a later one:
order lines (orders lock their lines first), a device (usage reports, moves and removals lock it
before its pool), Smart Accounts, Virtual Accounts (a VA's row is its pool's lock), then the rows
in them (registration tokens, PAKs, entitlements). The Smart Account row's mode says who waits for
whom: tree writes (`virtual_accounts._lock_tree`) and status changes FOR UPDATE; role changes and
holding-account memberships (`roles._lock_roles`) NO KEY UPDATE; a service acting for a user SHARE
(licensing's `pool_lock` or `account_hold`, `acting=True`), so a grant or revocation waits for
that work, and work that gets its lock after one re-checks the actor's right then and is refused
(403); the system's writers (usage reports, registrations, deposits) KEY SHARE. Each service
re-reads what it locked: a row gone meanwhile is a 404 (the object the request names) or a
field-keyed 400. (Activating an account provisions its waiting lines under its FOR UPDATE lock: no
line-first writer can target a new account.)"""
from .access_requests import access_request_approve, access_request_create, access_request_deny
from .events import event_record
from .holding_accounts import holding_account_create, holding_member_add, holding_member_remove
from .invitations import (
    invitation_create,
    invitation_token,
    invitation_use,
    partner_invitation_accept,
    partner_invitation_decline,
    partner_invitation_revoke,
    partner_invitations_pending,
    partner_member_invite,
)
from .outbox import (
    MAX_SEND_ATTEMPTS,
    SEND_CLAIM_TIMEOUT,
    notification_claims_expire,
    notification_dispatch,
    notification_dispatch_on_commit,
    notification_queue,
    notification_queue_many,
    notification_retry,
    notification_send,
    notifications_redispatch,
    object_key,
)
from .partners import (
    partner_create,
    partner_member_add,
    partner_member_remove,
    partner_member_set_admin,
    partner_update,
    partner_validate,
)
from .privacy import user_close
from .roles import role_grant, role_revoke
from .smart_accounts import (
    smart_account_activate,
    smart_account_create,
    smart_account_reinstate,
    smart_account_request,
    smart_account_set_default_virtual_account,
    smart_account_suspend,
)
from .support import support_case_open, support_case_reply, support_case_set_status
from .users import (
    API_KEY_MAX_DAYS,
    CREDENTIALS_REVOKED_BECAUSE,
    api_credentials_revoke_all,
    api_key_create,
    api_key_revoke,
    mfa_authenticator_remove,
    user_create,
)
from .virtual_accounts import virtual_account_create, virtual_account_delete, virtual_account_move, virtual_account_rename

__all__ = [
    # events
    "event_record",
    # outbox
    "object_key", "notification_queue", "notification_queue_many", "notification_dispatch_on_commit",
    "notification_dispatch", "SEND_CLAIM_TIMEOUT", "MAX_SEND_ATTEMPTS", "notification_send", "notification_retry",
    "notification_claims_expire", "notifications_redispatch",
    # users and API keys
    "user_create", "API_KEY_MAX_DAYS", "api_key_create", "api_key_revoke", "CREDENTIALS_REVOKED_BECAUSE",
    "api_credentials_revoke_all", "mfa_authenticator_remove",
    # partners
    "partner_create", "partner_validate", "partner_update", "partner_member_add", "partner_member_remove",
    "partner_member_set_admin",
    # invitations
    "invitation_create", "invitation_token", "invitation_use", "partner_invitations_pending", "partner_member_invite",
    "partner_invitation_revoke", "partner_invitation_accept", "partner_invitation_decline",
    # smart accounts
    "smart_account_create", "smart_account_request", "smart_account_activate", "smart_account_suspend",
    "smart_account_reinstate", "smart_account_set_default_virtual_account",
    # holding accounts
    "holding_account_create", "holding_member_add", "holding_member_remove",
    # virtual accounts
    "virtual_account_create", "virtual_account_rename", "virtual_account_move", "virtual_account_delete",
    # roles
    "role_grant", "role_revoke",
    # access requests
    "access_request_create", "access_request_approve", "access_request_deny",
    # support
    "support_case_open", "support_case_reply", "support_case_set_status",
    # privacy
    "user_close",
]
