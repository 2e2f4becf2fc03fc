"""API routes of the licensing app (mounted under /api/v1/ by portal.urls)."""
from django.urls import path

from .views_devices import (
    ClassicLicenseConvertView,
    ClassicLicenseRegisterView,
    DeviceCredentialsCheckView,
    DeviceDetailView,
    DeviceRegisterView,
    DeviceUsageView,
    LicenseKeyVerifyView,
    SmartAccountClassicLicenseListView,
    VirtualAccountDeviceListView,
)
from .views_history import (
    AlertPreferencesView,
    SmartAccountReconciliationView,
    SmartAccountUsageHistoryView,
)
from .views_licenses import (
    LicenseTransferView,
    ProductDetailView,
    ProductListView,
    SmartAccountLicenseListView,
    TokenDetailView,
    VirtualAccountLicenseListView,
    VirtualAccountTokenListView,
)

urlpatterns: list = [
    path("products/", ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>/", ProductDetailView.as_view(), name="product_detail"),
    path("virtual-accounts/<int:pk>/licenses/", VirtualAccountLicenseListView.as_view(), name="virtual_account_licenses"),
    path("smart-accounts/<int:pk>/licenses/", SmartAccountLicenseListView.as_view(), name="smart_account_licenses"),
    path("license-transfers/", LicenseTransferView.as_view(), name="license_transfer"),
    path("virtual-accounts/<int:pk>/tokens/", VirtualAccountTokenListView.as_view(), name="virtual_account_tokens"),
    path("tokens/<int:pk>/", TokenDetailView.as_view(), name="token_detail"),
    path("devices/register/", DeviceRegisterView.as_view(), name="device_register"),
    path("devices/<int:pk>/", DeviceDetailView.as_view(), name="device_detail"),
    path("devices/<int:pk>/usage/", DeviceUsageView.as_view(), name="device_usage"),
    path("devices/<int:pk>/ping/", DeviceCredentialsCheckView.as_view(), name="device_ping"),
    path("virtual-accounts/<int:pk>/devices/", VirtualAccountDeviceListView.as_view(), name="virtual_account_devices"),
    path("smart-accounts/<int:pk>/classic-licenses/", SmartAccountClassicLicenseListView.as_view(),
         name="smart_account_classic_licenses"),
    path("classic-licenses/verify/", LicenseKeyVerifyView.as_view(), name="license_key_verify"),
    path("classic-licenses/<int:pk>/register/", ClassicLicenseRegisterView.as_view(), name="classic_license_register"),
    path("classic-licenses/<int:pk>/convert/", ClassicLicenseConvertView.as_view(), name="classic_license_convert"),
    path("smart-accounts/<int:pk>/reconciliation/", SmartAccountReconciliationView.as_view(),
         name="smart_account_reconciliation"),
    path("smart-accounts/<int:pk>/usage-history/", SmartAccountUsageHistoryView.as_view(),
         name="smart_account_usage_history"),
    path("smart-accounts/<int:pk>/alert-preferences/", AlertPreferencesView.as_view(), name="alert_preferences"),
]
