"""Pages of the licensing app."""
from django.urls import path

from . import views

app_name = "licensing"
urlpatterns: list = []
