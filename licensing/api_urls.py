"""API routes of the licensing app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = [
    path("products/", api.ProductListView.as_view(), name="product_list"),
    path("products/<int:pk>/", api.ProductDetailView.as_view(), name="product_detail"),
]
