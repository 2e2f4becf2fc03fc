"""API routes of the orders app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = []
