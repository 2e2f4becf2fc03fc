"""API routes of the accounts app (mounted under /api/v1/ by portal.urls)."""
from django.urls import path

from .views_access import (
    AccessRequestApproveView,
    AccessRequestDenyView,
    AccessRequestListView,
    MyAccessRequestListView,
    RoleDetailView,
    RoleListView,
)
from .views_events import SmartAccountEventListView
from .views_partners import (
    PartnerCustomerListView,
    PartnerDetailView,
    PartnerInvitationAcceptView,
    PartnerInvitationDeclineView,
    PartnerInvitationDetailView,
    PartnerInvitationListView,
    PartnerListView,
    PartnerMemberDetailView,
    PartnerMemberListView,
)
from .views_smart_accounts import (
    HoldingMemberDetailView,
    HoldingMemberListView,
    SmartAccountActivateView,
    SmartAccountDetailView,
    SmartAccountListView,
    VirtualAccountDetailView,
    VirtualAccountListView,
)
from .views_support import (
    SupportCaseDetailView,
    SupportCaseListView,
    SupportCaseMessageListView,
    SupportCaseResolveView,
)
from .views_users import ApiKeyDetailView, ApiKeyListView, MeCloseView, MeDataView, MeView, UserCreateView

urlpatterns: list = [
    path("me/", MeView.as_view(), name="me"),
    path("users/", UserCreateView.as_view(), name="user_list"),
    path("partners/", PartnerListView.as_view(), name="partner_list"),
    path("partners/<int:pk>/", PartnerDetailView.as_view(), name="partner_detail"),
    path("partners/<int:pk>/members/", PartnerMemberListView.as_view(), name="partner_member_list"),
    path("smart-accounts/", SmartAccountListView.as_view(), name="smart_account_list"),
    path("smart-accounts/<int:pk>/", SmartAccountDetailView.as_view(), name="smart_account_detail"),
    path("smart-accounts/<int:pk>/activate/", SmartAccountActivateView.as_view(), name="smart_account_activate"),
    path("smart-accounts/<int:pk>/access-requests/", AccessRequestListView.as_view(), name="access_request_list"),
    path("access-requests/", MyAccessRequestListView.as_view(), name="my_access_request_list"),
    path("access-requests/<int:pk>/approve/", AccessRequestApproveView.as_view(), name="access_request_approve"),
    path("access-requests/<int:pk>/deny/", AccessRequestDenyView.as_view(), name="access_request_deny"),
    path("smart-accounts/<int:pk>/roles/", RoleListView.as_view(), name="role_list"),
    path("smart-accounts/<int:pk>/events/", SmartAccountEventListView.as_view(), name="smart_account_events"),
    path("roles/<uuid:pk>/", RoleDetailView.as_view(), name="role_detail"),
    path("smart-accounts/<int:pk>/holding-members/", HoldingMemberListView.as_view(), name="holding_member_list"),
    path("smart-accounts/<int:pk>/holding-members/<int:member_id>/", HoldingMemberDetailView.as_view(),
         name="holding_member_detail"),
    path("smart-accounts/<int:pk>/virtual-accounts/", VirtualAccountListView.as_view(),
         name="virtual_account_list"),
    path("virtual-accounts/<int:pk>/", VirtualAccountDetailView.as_view(), name="virtual_account_detail"),
    path("me/data/", MeDataView.as_view(), name="me_data"),
    path("me/close/", MeCloseView.as_view(), name="me_close"),
    path("me/api-keys/", ApiKeyListView.as_view(), name="api_key_list"),
    path("api-keys/<int:pk>/", ApiKeyDetailView.as_view(), name="api_key_detail"),
    path("support-cases/", SupportCaseListView.as_view(), name="support_case_list"),
    path("support-cases/<int:pk>/", SupportCaseDetailView.as_view(), name="support_case_detail"),
    path("support-cases/<int:pk>/messages/", SupportCaseMessageListView.as_view(),
         name="support_case_message_list"),
    path("support-cases/<int:pk>/resolve/", SupportCaseResolveView.as_view(), name="support_case_resolve"),
    path("partners/<int:pk>/members/<int:member_id>/", PartnerMemberDetailView.as_view(),
         name="partner_member_detail"),
    path("partners/<int:pk>/customers/", PartnerCustomerListView.as_view(), name="partner_customer_list"),
    path("partners/<int:pk>/invitations/", PartnerInvitationListView.as_view(), name="partner_invitation_list"),
    path("partner-invitations/<int:pk>/", PartnerInvitationDetailView.as_view(), name="partner_invitation_detail"),
    path("partner-invitations/accept/", PartnerInvitationAcceptView.as_view(), name="partner_invitation_accept"),
    path("partner-invitations/decline/", PartnerInvitationDeclineView.as_view(),
         name="partner_invitation_decline"),
]
