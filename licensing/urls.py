"""Pages of the licensing app (mounted under /licensing/).

Most pages exist twice under one URL name: for a whole Smart Account (`sa/<sa_pk>/…`) and for a
Virtual Account with its subtree (`va/<va_pk>/…`); `reverse("licensing:license_list",
kwargs={"va_pk": 3})` picks the one that fits. Actions on one object (`tokens/<pk>/revoke/`) are
addressed by the object alone."""
from django.urls import path

from accounts import views as account_views

from . import views
from .views.scope import page_scope

app_name = "licensing"

# The event log is accounts' (accounts.views.events), shown here among a scope's tabs: these
# say what a page covers and frame it.
EVENT_LOG = {"scope_of": page_scope, "base_template": "licensing/scope_base.html"}

# (route below the scope, view, name): each both per account and per Virtual Account.
SCOPED = [
    ("dashboard/", views.dashboard, "dashboard"),
    ("licenses/", views.license_list, "license_list"),
    ("licenses/export/", views.license_export, "license_export"),
    ("licenses/<int:product_pk>/", views.license_detail, "license_detail"),
    ("licenses/transfer/", views.license_transfer, "license_transfer"),
    ("tokens/", views.token_list, "token_list"),
    ("tokens/new/", views.token_create, "token_create"),
    ("devices/", views.device_list, "device_list"),
    ("devices/move/", views.device_move, "device_move"),
    ("reconciliation/", views.reconciliation, "reconciliation"),
    ("reconciliation/export/", views.reconciliation_export, "reconciliation_export"),
]
SCOPED_EVENT_LOG = [
    ("events/", account_views.event_list, "event_list"),
    ("events/export/", account_views.event_export, "event_export"),
    ("virtual-accounts/search/", account_views.virtual_account_search, "virtual_account_search"),
]

urlpatterns = [
    path("", views.index, name="index"),
    *[path(f"sa/<int:sa_pk>/{route}", view, name=name) for route, view, name in SCOPED],
    *[path(f"va/<int:va_pk>/{route}", view, name=name) for route, view, name in SCOPED],
    *[path(f"{scope}/<int:{scope}_pk>/{route}", view, EVENT_LOG, name=name)
      for scope in ("sa", "va") for route, view, name in SCOPED_EVENT_LOG],
    # Account-wide only: PAKs belong to the account, alerts are its settings.
    path("sa/<int:sa_pk>/licenses/transfer/available/", views.license_transfer_available, name="license_transfer_available"),
    path("sa/<int:sa_pk>/classic-licenses/", views.classic_license_list, name="classic_license_list"),
    path("sa/<int:sa_pk>/alerts/", views.alert_preferences, name="alert_preferences"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("devices/<int:pk>/remove/", views.device_remove, name="device_remove"),
    path("classic-licenses/<int:pk>/", views.classic_license_detail, name="classic_license_detail"),
    path("classic-licenses/<int:pk>/register/", views.classic_license_register, name="classic_license_register"),
    path("classic-licenses/<int:pk>/convert/", views.classic_license_convert, name="classic_license_convert"),
]
