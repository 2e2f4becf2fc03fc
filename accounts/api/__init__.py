"""The accounts app's REST API, mounted under /api/v1/ by portal.urls: views by area (`views_*`),
their serializers, API-key authentication (`auth`) and DRF permission classes (`permissions`).

Nothing is imported here: the settings load `accounts.api.auth` while DRF itself is still loading."""
