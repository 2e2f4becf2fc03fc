"""API routes of the licensing app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = [
    path("products/", api.ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>/", api.ProductDetailView.as_view(), name="product_detail"),
    path("virtual-accounts/<int:pk>/licenses/", api.VirtualAccountLicenseListView.as_view(), name="virtual_account_licenses"),
    path("smart-accounts/<int:pk>/licenses/", api.SmartAccountLicenseListView.as_view(), name="smart_account_licenses"),
    path("license-transfers/", api.LicenseTransferView.as_view(), name="license_transfer"),
    path("virtual-accounts/<int:pk>/tokens/", api.VirtualAccountTokenListView.as_view(), name="virtual_account_tokens"),
    path("tokens/<int:pk>/", api.TokenDetailView.as_view(), name="token_detail"),
    path("devices/register/", api.DeviceRegisterView.as_view(), name="device_register"),
    path("devices/<int:pk>/", api.DeviceDetailView.as_view(), name="device_detail"),
    path("devices/<int:pk>/usage/", api.DeviceUsageView.as_view(), name="device_usage"),
    path("devices/<int:pk>/ping/", api.DeviceCredentialsCheckView.as_view(), name="device_ping"),
    path("virtual-accounts/<int:pk>/devices/", api.VirtualAccountDeviceListView.as_view(), name="virtual_account_devices"),
    path("smart-accounts/<int:pk>/classic-licenses/", api.SmartAccountClassicLicenseListView.as_view(),
         name="smart_account_classic_licenses"),
    path("classic-licenses/verify/", api.LicenseKeyVerifyView.as_view(), name="license_key_verify"),
    path("classic-licenses/<int:pk>/register/", api.ClassicLicenseRegisterView.as_view(), name="classic_license_register"),
    path("classic-licenses/<int:pk>/convert/", api.ClassicLicenseConvertView.as_view(), name="classic_license_convert"),
    path("smart-accounts/<int:pk>/events/", api.SmartAccountEventListView.as_view(), name="smart_account_events"),
    path("smart-accounts/<int:pk>/reconciliation/", api.SmartAccountReconciliationView.as_view(),
         name="smart_account_reconciliation"),
    path("smart-accounts/<int:pk>/usage-history/", api.SmartAccountUsageHistoryView.as_view(),
         name="smart_account_usage_history"),
    path("smart-accounts/<int:pk>/alert-preferences/", api.AlertPreferencesView.as_view(), name="alert_preferences"),
]
