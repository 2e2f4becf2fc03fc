"""API routes of the orders app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = [
    path("orders/", api.OrderListView.as_view(), name="order_list"),
    path("orders/<int:pk>/", api.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/ship/", api.OrderShipView.as_view(), name="order_ship"),
    path("order-lines/delegated/", api.DelegatedLineListView.as_view(), name="order_line_delegated_list"),
    path("order-lines/move/", api.OrderLineMoveView.as_view(), name="order_line_move"),
]
