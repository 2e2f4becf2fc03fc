from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sa/<int:pk>/", views.smart_account_detail, name="smart_account_detail"),
    path("invite/<str:token>/", views.invitation_landing, name="invitation_landing"),
]
