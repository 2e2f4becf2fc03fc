"""API routes of the licensing app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = []
