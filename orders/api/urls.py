"""API routes of the orders app (mounted under /api/v1/ by portal.urls)."""
from django.urls import path

from .views import DelegatedLineListView, OrderDetailView, OrderLineMoveView, OrderListView, OrderShipView

urlpatterns: list = [
    path("orders/", OrderListView.as_view(), name="order_list"),
    path("orders/<int:pk>/", OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/ship/", OrderShipView.as_view(), name="order_ship"),
    path("order-lines/delegated/", DelegatedLineListView.as_view(), name="order_line_delegated_list"),
    path("order-lines/move/", OrderLineMoveView.as_view(), name="order_line_move"),
]
