"""The partner pages (mounted at /partner/ as namespace `partner`): the user's partner
organisation, its members and the invitations to join it, its holding accounts, and the
customers it manages."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.partner_detail, name="partner_detail"),
    path("members/invite/", views.partner_member_invite, name="partner_member_invite"),
    path("invitations/<int:pk>/revoke/", views.partner_invitation_revoke, name="partner_invitation_revoke"),
    path("join/<str:token>/", views.partner_invitation_respond, name="partner_invitation_respond"),
    path("members/<int:pk>/remove/", views.partner_member_remove, name="partner_member_remove"),
    path("members/<int:pk>/admin/", views.partner_member_set_admin, name="partner_member_set_admin"),
    path("holding-accounts/", views.holding_account_list, name="holding_account_list"),
    path("holding-accounts/new/", views.holding_account_create, name="holding_account_create"),
    path("holding-accounts/<int:pk>/members/", views.holding_member_add, name="holding_member_add"),
    path("holding-members/<int:pk>/remove/", views.holding_member_remove, name="holding_member_remove"),
    path("holding-members/<int:pk>/notify/", views.holding_member_notify, name="holding_member_notify"),
    path("customers/", views.partner_customer_list, name="partner_customer_list"),
]
