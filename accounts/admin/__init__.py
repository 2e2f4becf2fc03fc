"""Staff back office for accounts: users, partners, Smart and Virtual Accounts, roles,
support, and the audit log and outbox. Changes that matter go through the services,
exactly as the portal and the API make them; everything else here is for looking.

Importing this package (Django's admin autodiscover does) registers every ModelAdmin of the
submodules."""
from django.contrib import admin

from .events import EventAdmin, InvitationAdmin, NotificationAdmin
from .partners import PartnerAdmin, PartnerAdminForm, PartnerMembershipFormSet, PartnerMembershipInline
from .roles import RoleAdmin, SmartAccountRoleAdmin, VirtualAccountRoleAdmin
from .smart_accounts import (
    AccessRequestAdmin,
    HoldingMembershipAdmin,
    HoldingMembershipInline,
    SmartAccountAdmin,
    VirtualAccountAdmin,
)
from .support import SupportCaseAdmin, SupportMessageInline, SupportReplyFormSet, SupportReplyInline
from .users import ApiKeyAdmin, AuthenticatorAdmin, UserAdmin, UserChangeForm, UserCreationForm

admin.site.site_header = "Smart Licensing — staff back office"
admin.site.site_title = "Smart Licensing staff"
admin.site.index_title = "Back office"

__all__ = [
    "AccessRequestAdmin",
    "ApiKeyAdmin",
    "AuthenticatorAdmin",
    "EventAdmin",
    "HoldingMembershipAdmin",
    "HoldingMembershipInline",
    "InvitationAdmin",
    "NotificationAdmin",
    "PartnerAdmin",
    "PartnerAdminForm",
    "PartnerMembershipFormSet",
    "PartnerMembershipInline",
    "RoleAdmin",
    "SmartAccountAdmin",
    "SmartAccountRoleAdmin",
    "SupportCaseAdmin",
    "SupportMessageInline",
    "SupportReplyFormSet",
    "SupportReplyInline",
    "UserAdmin",
    "UserChangeForm",
    "UserCreationForm",
    "VirtualAccountAdmin",
    "VirtualAccountRoleAdmin",
]
