"""Pages of the orders app (mounted under /orders/)."""
from django.urls import path

from . import views

app_name = "orders"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("new/", views.order_place, name="order_place"),
    path("new/request-account/", views.account_request_inline, name="account_request_inline"),
    path("new/holding-account/", views.holding_account_create_inline, name="holding_account_create_inline"),
    path("assign/accounts/", views.account_search, name="account_search"),
    path("assign/virtual-accounts/", views.virtual_account_options, name="virtual_account_options"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/ship/", views.order_ship, name="order_ship"),
    path("holding/", views.held_line_list, name="held_line_list"),
    path("holding/move/", views.held_line_move, name="held_line_move"),
    path("delegated/", views.delegated_line_list, name="delegated_line_list"),
    path("delegated/line/<int:pk>/", views.delegated_line_choose, name="delegated_line_choose"),
    path("delegated/<str:token>/", views.delegated_line_assign, name="delegated_line_assign"),
]
