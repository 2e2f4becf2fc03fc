"""Top-level URLs: pages per app, the API under /api/v1/, allauth, admin."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("licensing.api_urls")),
    path("", include("orders.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    path("", include(("portal.page_urls", "portal"))),
    path("accounts/", include("allauth.urls")),
    path("sa/", include("accounts.urls")),
    path("partner/", include(("accounts.partner_urls", "partner"))),
    path("licensing/", include("licensing.urls")),
    path("orders/", include("orders.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
]

# Unknown URLs under /api/ answer in JSON, like the API's own 404s.
handler404 = "portal.api_common.not_found"
