"""Pages of the accounts app: find, create and request Smart Accounts, activate them, organise
Virtual Accounts, and manage users, roles and access requests; the partner pages (members,
holding accounts, customers managed), the event log (mounted among licensing's tabs), help, privacy, support cases and API keys. Each view
binds a form, calls one service and redirects; who may do what is asked of accounts.permissions.

One module per area; the URL modules (accounts.urls, accounts.urls, portal.page_urls)
import the views from here."""
from .events import event_export, event_list, virtual_account_search
from .invitations import invitation_page
from .partner import (
    holding_account_create,
    holding_account_list,
    holding_member_add,
    holding_member_notify,
    holding_member_remove,
    partner_customer_list,
    partner_detail,
    partner_invitation_respond,
    partner_invitation_revoke,
    partner_member_invite,
    partner_member_remove,
    partner_member_set_admin,
)
from .profile import (
    api_key_create,
    api_key_list,
    api_key_revoke,
    help_page,
    privacy_close,
    privacy_closed,
    privacy_export,
    privacy_overview,
    support_case_create,
    support_case_detail,
    support_case_list,
    support_case_reply,
    support_case_resolve,
)
from .roles import access_request_approve, access_request_deny, role_grant, role_revoke, smart_account_users
from .smart_accounts import (
    access_request_create,
    smart_account_activate,
    smart_account_create,
    smart_account_find,
    smart_account_list,
    smart_account_request,
)
from .virtual_accounts import (
    virtual_account_create,
    virtual_account_delete,
    virtual_account_edit,
    virtual_account_set_default,
)
