"""Pages of the orders app."""
from django.urls import path

from . import views

app_name = "orders"
urlpatterns: list = []
