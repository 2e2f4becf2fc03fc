"""Pages of the accounts app (mounted under /sa/)."""
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
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
