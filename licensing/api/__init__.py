"""The licensing app's REST API, mounted under /api/v1/ by portal.urls: views by area (`views_*`),
their serializers, the lookups they share, and device-secret authentication (`auth`)."""
