"""API routes of the accounts app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = [
    path("me/", api.MeView.as_view(), name="me"),
    path("users/", api.UserCreateView.as_view(), name="user_list"),
    path("partners/", api.PartnerListView.as_view(), name="partner_list"),
    path("partners/<int:pk>/", api.PartnerDetailView.as_view(), name="partner_detail"),
    path("partners/<int:pk>/members/", api.PartnerMemberListView.as_view(), name="partner_member_list"),
]
