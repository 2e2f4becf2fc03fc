"""Every page of the accounts app, in one namespace (`accounts:`): Smart Accounts, their Virtual
Accounts, users, roles and access requests under /sa/; the partner's pages under /partner/ (the
organisation, its members and invitations, its holding accounts, the customers it manages); and
the user's own pages: help, privacy, support cases and API keys. The event log is accounts' too,
mounted among licensing's tabs (licensing.urls)."""
from django.urls import include, path

from . import views

app_name = "accounts"

smart_account_patterns = [
    path("", views.smart_account_list, name="smart_account_list"),
    path("find/", views.smart_account_find, name="smart_account_find"),
    path("new/", views.smart_account_create, name="smart_account_create"),
    path("request/", views.smart_account_request, name="smart_account_request"),
    path("activate/<str:token>/", views.smart_account_activate, name="smart_account_activate"),
    # The reference comes from the user's own domain search (signed, expiring): no page by bare id.
    path("request-access/<str:ref>/", views.access_request_create, name="access_request_create"),
    path("<int:pk>/virtual-accounts/new/", views.virtual_account_create, name="virtual_account_create"),
    path("virtual-accounts/<int:va_pk>/edit/", views.virtual_account_edit, name="virtual_account_edit"),
    path("virtual-accounts/<int:va_pk>/delete/", views.virtual_account_delete, name="virtual_account_delete"),
    path("virtual-accounts/<int:va_pk>/default/", views.virtual_account_set_default, name="virtual_account_set_default"),
    path("<int:pk>/users/", views.smart_account_users, name="smart_account_users"),
    path("<int:pk>/users/grant/", views.role_grant, name="role_grant"),
    path("roles/<uuid:role_id>/revoke/", views.role_revoke, name="role_revoke"),
    path("requests/<int:request_id>/approve/", views.access_request_approve, name="access_request_approve"),
    path("requests/<int:request_id>/deny/", views.access_request_deny, name="access_request_deny"),
]

partner_patterns = [
    path("", views.partner_detail, name="partner_detail"),
    path("members/invite/", views.partner_member_invite, name="partner_member_invite"),
    path("invitations/<int:pk>/revoke/", views.partner_invitation_revoke, name="partner_invitation_revoke"),
    path("join/<str:token>/", views.partner_invitation_respond, name="partner_invitation_respond"),
    path("members/<int:pk>/remove/", views.partner_member_remove, name="partner_member_remove"),
    path("members/<int:pk>/admin/", views.partner_member_set_admin, name="partner_member_set_admin"),
    path("holding-accounts/", views.holding_account_list, name="holding_account_list"),
    path("holding-accounts/new/", views.holding_account_create, name="holding_account_create"),
    path("holding-accounts/<int:pk>/members/", views.holding_member_add, name="holding_member_add"),
    path("holding-members/<int:pk>/remove/", views.holding_member_remove, name="holding_member_remove"),
    path("holding-members/<int:pk>/notify/", views.holding_member_notify, name="holding_member_notify"),
    path("customers/", views.partner_customer_list, name="partner_customer_list"),
]

urlpatterns = [
    path("sa/", include(smart_account_patterns)),
    path("partner/", include(partner_patterns)),
    # Help, privacy, support and API keys: pages of the accounts app at the top level.
    path("help/", views.help_page, {"topic": "index"}, name="help_index"),
    path("help/accounts/", views.help_page, {"topic": "accounts"}, name="help_accounts"),
    path("help/virtual-accounts/", views.help_page, {"topic": "virtual_accounts"}, name="help_virtual_accounts"),
    path("help/partner-access/", views.help_page, {"topic": "partner_access"}, name="help_partner_access"),
    path("help/privacy/", views.help_page, {"topic": "privacy"}, name="help_privacy"),
    path("privacy/", views.privacy_overview, name="privacy"),
    path("privacy/export/", views.privacy_export, name="privacy_export"),
    path("privacy/close/", views.privacy_close, name="privacy_close"),
    path("privacy/closed/", views.privacy_closed, name="privacy_closed"),
    path("support/", views.support_case_list, name="support_case_list"),
    path("support/new/", views.support_case_create, name="support_case_create"),
    path("support/<int:pk>/", views.support_case_detail, name="support_case_detail"),
    path("support/<int:pk>/reply/", views.support_case_reply, name="support_case_reply"),
    path("support/<int:pk>/resolve/", views.support_case_resolve, name="support_case_resolve"),
    path("profile/api-keys/", views.api_key_list, name="api_key_list"),
    path("profile/api-keys/new/", views.api_key_create, name="api_key_create"),
    path("profile/api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
