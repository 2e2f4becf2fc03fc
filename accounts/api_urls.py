"""API routes of the accounts app (mounted under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns: list = [
    path("me/", api.MeView.as_view(), name="me"),
    path("users/", api.UserCreateView.as_view(), name="user_list"),
    path("partners/", api.PartnerListView.as_view(), name="partner_list"),
    path("partners/<int:pk>/", api.PartnerDetailView.as_view(), name="partner_detail"),
    path("partners/<int:pk>/members/", api.PartnerMemberListView.as_view(), name="partner_member_list"),
    path("smart-accounts/", api.SmartAccountListView.as_view(), name="smart_account_list"),
    path("smart-accounts/<int:pk>/", api.SmartAccountDetailView.as_view(), name="smart_account_detail"),
    path("smart-accounts/<int:pk>/activate/", api.SmartAccountActivateView.as_view(), name="smart_account_activate"),
    path("smart-accounts/<int:pk>/access-requests/", api.AccessRequestListView.as_view(), name="access_request_list"),
    path("access-requests/", api.MyAccessRequestListView.as_view(), name="my_access_request_list"),
    path("access-requests/<int:pk>/approve/", api.AccessRequestApproveView.as_view(), name="access_request_approve"),
    path("access-requests/<int:pk>/deny/", api.AccessRequestDenyView.as_view(), name="access_request_deny"),
    path("smart-accounts/<int:pk>/roles/", api.RoleListView.as_view(), name="role_list"),
    path("roles/<uuid:pk>/", api.RoleDetailView.as_view(), name="role_detail"),
    path("smart-accounts/<int:pk>/holding-members/", api.HoldingMemberListView.as_view(), name="holding_member_list"),
    path("smart-accounts/<int:pk>/holding-members/<int:member_id>/", api.HoldingMemberDetailView.as_view(),
         name="holding_member_detail"),
    path("smart-accounts/<int:pk>/virtual-accounts/", api.VirtualAccountListView.as_view(),
         name="virtual_account_list"),
    path("virtual-accounts/<int:pk>/", api.VirtualAccountDetailView.as_view(), name="virtual_account_detail"),
    path("me/data/", api.MeDataView.as_view(), name="me_data"),
    path("me/close/", api.MeCloseView.as_view(), name="me_close"),
    path("me/api-keys/", api.ApiKeyListView.as_view(), name="api_key_list"),
    path("api-keys/<int:pk>/", api.ApiKeyDetailView.as_view(), name="api_key_detail"),
    path("support-cases/", api.SupportCaseListView.as_view(), name="support_case_list"),
    path("support-cases/<int:pk>/", api.SupportCaseDetailView.as_view(), name="support_case_detail"),
    path("support-cases/<int:pk>/messages/", api.SupportCaseMessageListView.as_view(),
         name="support_case_message_list"),
    path("support-cases/<int:pk>/resolve/", api.SupportCaseResolveView.as_view(), name="support_case_resolve"),
    path("partners/<int:pk>/members/<int:member_id>/", api.PartnerMemberDetailView.as_view(),
         name="partner_member_detail"),
    path("partners/<int:pk>/customers/", api.PartnerCustomerListView.as_view(), name="partner_customer_list"),
]
