"""The orders app's REST API, mounted under /api/v1/ by portal.urls: its views, serializers and routes."""
