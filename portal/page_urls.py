from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sa/<int:pk>/", views.smart_account_detail, name="smart_account_detail"),
    path("sa/<int:pk>/tree/<int:va_pk>/children/", views.virtual_account_children, name="virtual_account_children"),
    path("sa/<int:pk>/tree/search/", views.virtual_account_search, name="virtual_account_search"),
    path("invite/<str:token>/", views.invitation_landing, name="invitation_landing"),
]
