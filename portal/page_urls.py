from django.urls import path

from accounts import views as account_views

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sa/<int:pk>/", views.smart_account_detail, name="smart_account_detail"),
    path("sa/<int:pk>/tree/<int:va_pk>/children/", views.virtual_account_children, name="virtual_account_children"),
    path("sa/<int:pk>/tree/search/", views.virtual_account_search, name="virtual_account_search"),
    path("invite/<str:token>/", views.invitation_landing, name="invitation_landing"),
    # Help, privacy, support and API keys: pages of the accounts app at the top level.
    path("help/", account_views.help_page, {"topic": "index"}, name="help_index"),
    path("help/accounts/", account_views.help_page, {"topic": "accounts"}, name="help_accounts"),
    path("help/virtual-accounts/", account_views.help_page, {"topic": "virtual_accounts"}, name="help_virtual_accounts"),
    path("help/partner-access/", account_views.help_page, {"topic": "partner_access"}, name="help_partner_access"),
    path("help/privacy/", account_views.help_page, {"topic": "privacy"}, name="help_privacy"),
    path("privacy/", account_views.privacy_overview, name="privacy"),
    path("privacy/export/", account_views.privacy_export, name="privacy_export"),
    path("privacy/close/", account_views.privacy_close, name="privacy_close"),
    path("privacy/closed/", account_views.privacy_closed, name="privacy_closed"),
    path("support/", account_views.support_case_list, name="support_case_list"),
    path("support/new/", account_views.support_case_create, name="support_case_create"),
    path("support/<int:pk>/", account_views.support_case_detail, name="support_case_detail"),
    path("support/<int:pk>/reply/", account_views.support_case_reply, name="support_case_reply"),
    path("support/<int:pk>/resolve/", account_views.support_case_resolve, name="support_case_resolve"),
    path("profile/api-keys/", account_views.api_key_list, name="api_key_list"),
    path("profile/api-keys/new/", account_views.api_key_create, name="api_key_create"),
    path("profile/api-keys/<int:pk>/revoke/", account_views.api_key_revoke, name="api_key_revoke"),
]
