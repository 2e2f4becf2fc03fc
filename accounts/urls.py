"""Pages of the accounts app."""
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns: list = []
