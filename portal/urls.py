"""Top-level URLs: pages per app, the API under /api/v1/, allauth, admin."""
from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("licensing.api.urls")),
    path("", include("orders.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its set-up script under the CSP nonce (templates/portal/api_docs.html).
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", template_name="portal/api_docs.html"), name="docs"),
]

# Staff sign in through allauth like everyone else (its MFA step and its rate limits): the admin's
# own password form would skip both, so /admin/login/ only ever redirects there.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", include(("portal.page_urls", "portal"))),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("licensing/", include("licensing.urls")),
    path("orders/", include("orders.urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("admin/", admin.site.urls),
]

# Unknown URLs under /api/ answer in JSON, like the API's own 404s.
handler404 = "lib.api.not_found"
