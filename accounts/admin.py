"""Staff back office for accounts: users, partners, Smart and Virtual Accounts, roles,
support, and the audit log and outbox. Changes that matter go through the services,
exactly as the portal and the API make them; everything else here is for looking."""
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from mptt.admin import MPTTModelAdmin

from lib.admin import ReadOnlyAdmin, ReadOnlyTabularInline, reasons, run_service_action, titled

from .models import (
    AccessRequest,
    ApiKey,
    Event,
    HoldingMembership,
    Invitation,
    Notification,
    NotificationStatus,
    Partner,
    PartnerKind,
    PartnerMembership,
    SmartAccount,
    SmartAccountRole,
    SupportCase,
    SupportMessage,
    User,
    VirtualAccount,
    VirtualAccountRole,
)

admin.site.site_header = "Smart Licensing — staff back office"
admin.site.site_title = "Smart Licensing staff"
admin.site.index_title = "Back office"


# Users and API keys

class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email address already exists.")
        return email


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict = {}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    add_form_template = None  # Django's says "enter a username"; there is none.
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "closed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined", "closed_at")
    list_display = ("email", "name", "partner", "is_staff", "is_active", "date_joined", "closed_at")
    list_filter = (
        "is_staff", "is_superuser", "is_active", ("partner_membership__partner__kind", titled("partner kind"))
    )
    list_select_related = ("partner_membership__partner",)
    search_fields = ("email", "name")
    ordering = ("email",)
    date_hierarchy = "date_joined"

    @admin.display(ordering="partner_membership__partner__name")
    def partner(self, user: User):
        membership = getattr(user, "partner_membership", None)
        return membership.partner.name if membership else "—"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by a service (the key is shown once); staff may rename or revoke."""

    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__email")
    readonly_fields = ("user", "prefix", "key_hash", "created_at", "last_used_at")
    fields = ("name", "user", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False


# Partners

class PartnerMembershipFormSet(BaseInlineFormSet):
    """Saved by PartnerAdmin.save_formset through the membership services (never directly), so
    that the rules of the portal hold here too (a partner keeps at least one admin)."""


class PartnerMembershipInline(admin.TabularInline):
    model = PartnerMembership
    formset = PartnerMembershipFormSet
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "partner")


class PartnerAdminForm(forms.ModelForm):
    class Meta:
        model = Partner
        fields = "__all__"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        # partner_create's rule, shown on the form rather than refused at save time.
        if self.instance.pk is None and Partner.objects.filter(name__iexact=" ".join(name.split())).exists():
            raise ValidationError("A partner with this name already exists.")
        return name


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """A new partner is created by `partner_create`; its members are added, made admins and
    removed by the membership services (refusals are shown as messages)."""

    form = PartnerAdminForm
    list_display = ("name", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    filter_horizontal = ("linked_resellers",)
    inlines = (PartnerMembershipInline,)
    date_hierarchy = "created_at"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "linked_resellers":
            kwargs["queryset"] = Partner.objects.filter(kind=PartnerKind.RESELLER)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from accounts import services

        partner = services.partner_create(name=obj.name, kind=obj.kind, actor=request.user)
        obj.pk, obj._state, obj.name, obj.created_at = partner.pk, partner._state, partner.name, partner.created_at

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, PartnerMembershipFormSet):
            return super().save_formset(request, form, formset, change)
        from accounts import services

        partner = form.instance
        formset.save(commit=False)  # fills new_objects, changed_objects, deleted_objects; writes nothing
        saved_new, saved_changed, removed = [], [], []

        def attempt(what: str, fn: Callable):
            try:
                return fn()
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"{what}: {reasons(exc)}", messages.ERROR)
                return None

        # Additions first, so that adding a new admin and removing the old one in one save works.
        for new in formset.new_objects:
            membership = attempt(
                f"{new.user.email} not added",
                lambda: services.partner_member_add(partner=partner, email=new.user.email, is_admin=new.is_admin, actor=request.user),
            )
            if membership is not None:
                saved_new.append(membership)
        for edited, changed_fields in formset.changed_objects:
            current = PartnerMembership.objects.select_related("user", "partner").get(pk=edited.pk)
            if "user" in changed_fields:  # another person in this row: add them, then remove the old one
                added = attempt(
                    f"{edited.user.email} not added",
                    lambda: services.partner_member_add(partner=partner, email=edited.user.email, is_admin=edited.is_admin, actor=request.user),
                )
                if added is not None and attempt(
                    f"{current.user.email} not removed",
                    lambda: services.partner_member_remove(membership=current, actor=request.user) or True,
                ):
                    saved_changed.append((added, changed_fields))
            elif "is_admin" in changed_fields:
                done = attempt(
                    f"{current.user.email} not changed",
                    lambda: services.partner_member_set_admin(membership=current, is_admin=edited.is_admin, actor=request.user),
                )
                if done is not None:
                    saved_changed.append((done, changed_fields))
        for deleted in formset.deleted_objects:
            current = PartnerMembership.objects.select_related("user", "partner").filter(pk=deleted.pk).first()
            if current is not None and attempt(
                f"{current.user.email} not removed",
                lambda: services.partner_member_remove(membership=current, actor=request.user) or True,
            ):
                removed.append(current)
        # What Django's change message (the admin history) reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = saved_new, saved_changed, removed


# Smart Accounts and their trees

class HoldingMembershipInline(ReadOnlyTabularInline):
    model = HoldingMembership
    fields = ("user", "notify", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "smart_account")


@admin.register(SmartAccount)
class SmartAccountAdmin(ReadOnlyAdmin):
    """Accounts are created in the portal (with their DEFAULT Virtual Account); staff changes
    their status with the actions, which go through the services."""

    list_display = ("name", "domain", "kind", "status", "partner", "contact", "created_at", "activated_at")
    list_filter = ("kind", "status", "partner")
    list_select_related = ("partner", "contact")
    search_fields = ("name", "domain")
    date_hierarchy = "created_at"
    actions = ("activate_selected", "suspend_selected", "reinstate_selected")

    def get_inlines(self, request, obj):
        return (HoldingMembershipInline,) if obj is not None and obj.is_holding else ()

    @admin.action(description="Activate selected accounts")
    def activate_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_activate(smart_account=sa, actor=request.user), "activated",
        )

    @admin.action(description="Suspend selected accounts")
    def suspend_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_suspend(smart_account=sa, actor=request.user), "suspended",
        )

    @admin.action(description="Reinstate selected accounts")
    def reinstate_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset,
            lambda sa: services.smart_account_reinstate(smart_account=sa, actor=request.user), "reinstated",
        )


@admin.register(VirtualAccount)
class VirtualAccountAdmin(MPTTModelAdmin):
    """The tree, indented. Creating, moving and deleting Virtual Accounts happen in the portal
    (services check emptiness and siblings); here staff may only rename."""

    list_display = ("indented_name", "smart_account", "description", "created_at")
    list_display_links = ("indented_name",)
    list_filter = (("smart_account__kind", titled("account kind")), "smart_account")
    list_select_related = ("smart_account",)
    search_fields = ("name", "smart_account__name", "smart_account__domain")
    fields = ("name", "description", "smart_account", "parent", "created_at")
    readonly_fields = ("smart_account", "parent", "created_at")
    # Django's changelist, not mptt's: mptt indents rows with style attributes, which the CSP refuses.
    change_list_template = None

    class Media:
        css = {"all": ["css/admin_tree.css"]}

    @admin.display(description="name")
    def indented_name(self, obj: VirtualAccount) -> str:
        return format_html('<span class="tree-level-{}">{}</span>', min(obj.level, 20), obj.name)

    def get_queryset(self, request):
        # The change page shows the parent, whose name needs its account.
        return super().get_queryset(request).select_related("smart_account", "parent__smart_account")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        from accounts import services

        if not {"name", "description"} & set(form.changed_data):
            return
        current = VirtualAccount.objects.get(pk=obj.pk)
        try:
            services.virtual_account_rename(
                virtual_account=current, name=obj.name, description=obj.description, actor=request.user
            )
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, f"{current}: {reasons(exc)}", messages.ERROR)


# Roles (guardian object permissions)

class RoleAdmin(admin.ModelAdmin):
    """Roles are granted in the portal; staff may look at them and revoke them (through the service)."""

    list_display = ("user", "role", "content_object", "granted_by", "granted_at")
    list_filter = (("permission__codename", titled("role")), "granted_at")
    search_fields = ("user__email", "content_object__name")
    fields = ("user", "role", "content_object", "granted_by", "granted_at")
    readonly_fields = fields
    date_hierarchy = "granted_at"
    list_select_related: tuple[str, ...] = ()

    def get_queryset(self, request):
        # The view page shows the same columns as the list.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(ordering="permission__codename")
    def role(self, obj) -> str:
        return obj.permission.codename

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj):
        from accounts import services

        try:
            services.role_revoke(role=obj, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            request._role_revoke_failed = True
            self.message_user(request, f"{obj}: {reasons(exc)}", messages.ERROR)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_role_revoke_failed", False):
            # Not "deleted successfully": back to the list, where the reason is shown.
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset, lambda role: services.role_revoke(role=role, actor=request.user), "revoked"
        )


@admin.register(SmartAccountRole)
class SmartAccountRoleAdmin(RoleAdmin):
    list_filter = (
        ("permission__codename", titled("role")), ("content_object__kind", titled("account kind")), "granted_at"
    )
    list_select_related = ("user", "permission", "content_object", "granted_by")


@admin.register(VirtualAccountRole)
class VirtualAccountRoleAdmin(RoleAdmin):
    list_select_related = ("user", "permission", "content_object__smart_account", "granted_by")
    search_fields = ("user__email", "content_object__name", "content_object__smart_account__name")


@admin.register(HoldingMembership)
class HoldingMembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "smart_account", "notify", "created_at")
    list_filter = ("notify", ("smart_account__partner", titled("partner")))
    list_select_related = ("user", "smart_account")
    search_fields = ("user__email", "smart_account__name")
    date_hierarchy = "created_at"


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ("requester", "smart_account", "scope_wanted", "status", "granted_role", "decided_by", "created_at",
                    "decided_at")
    list_filter = ("status", "granted_role")
    list_select_related = ("requester", "smart_account", "decided_by")
    search_fields = ("requester__email", "smart_account__name", "smart_account__domain")
    date_hierarchy = "created_at"


# Support

class SupportMessageInline(ReadOnlyTabularInline):
    """The thread so far."""

    model = SupportMessage
    fields = ("created_at", "author", "from_staff", "body")
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = "thread"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class SupportReplyFormSet(BaseInlineFormSet):
    """Blank forms only: each filled one becomes a staff reply through the service."""


class SupportReplyInline(admin.StackedInline):
    model = SupportMessage
    formset = SupportReplyFormSet
    fields = ("body",)
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "staff reply (emailed to the user)"

    def get_queryset(self, request):
        return super().get_queryset(request).none()

    def has_add_permission(self, request, obj=None) -> bool:
        return obj is not None


@admin.register(SupportCase)
class SupportCaseAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "smart_account", "order_number", "status", "created_at", "updated_at")
    list_filter = ("status", "updated_at")
    list_select_related = ("user", "smart_account")
    search_fields = ("subject", "order_number", "user__email", "smart_account__name")
    fields = ("subject", "user", "smart_account", "order_number", "status", "created_at", "updated_at")
    readonly_fields = ("subject", "user", "smart_account", "order_number", "created_at", "updated_at")
    inlines = (SupportMessageInline, SupportReplyInline)
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        """Nothing is saved directly: the reply and the status go through the services, in
        save_related."""

    def save_related(self, request, form, formsets, change):
        from accounts import services

        super().save_related(request, form, formsets, change)  # the reply first: it sets "waiting"
        if "status" in form.changed_data:
            # A fresh row: the form has already put the new status on `form.instance`.
            case = SupportCase.objects.get(pk=form.instance.pk)
            try:
                services.support_case_set_status(case=case, status=form.cleaned_data["status"], actor=request.user)
            except (ValidationError, PermissionDenied) as exc:
                self.message_user(request, f"Status not changed: {reasons(exc)}", messages.ERROR)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, SupportReplyFormSet):
            return super().save_formset(request, form, formset, change)
        from accounts import services

        case = SupportCase.objects.get(pk=formset.instance.pk)
        # What Django's change message (the admin history) reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for reply in formset.forms:
            body = (reply.cleaned_data.get("body") or "").strip() if reply.has_changed() else ""
            if body:
                formset.new_objects.append(
                    services.support_case_reply(case=case, author=request.user, body=body, from_staff=True)
                )


# The audit log, the outbox, invitations

@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "action", "smart_account", "virtual_account", "actor_label", "object_type", "object_repr"
    )
    list_filter = ("action", ("smart_account__kind", titled("account kind")), "smart_account")
    list_select_related = ("smart_account", "virtual_account__smart_account")
    search_fields = ("action", "object_repr", "actor_label", "smart_account__name")
    date_hierarchy = "created_at"
    # Counting a large log for the paginator is the slow part; show "more" instead.
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    # "Uncertain" rows (a worker died mid-send; see NotificationStatus) are the ones to review:
    # filter by status, check with the recipient or the mail logs, re-send if it did not arrive.
    list_display = ("kind", "recipient", "subject", "status", "attempts", "created_at", "claimed_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("recipient", "subject", "object_key")
    date_hierarchy = "created_at"
    actions = ("resend_selected",)

    @admin.action(description="Re-send selected failed/pending/uncertain")
    def resend_selected(self, request, queryset):
        from accounts import services

        ids = services.notification_retry(notification_ids=list(queryset.values_list("pk", flat=True)))
        if ids:
            self.message_user(
                request, f"{len(ids)} {model_ngettext(self.opts, len(ids))} queued for sending.", messages.SUCCESS
            )
        skipped = dict(queryset.exclude(pk__in=ids).order_by().values_list("status").annotate(n=Count("pk")))
        if skipped.get(NotificationStatus.SENT):
            self.message_user(request, f"{skipped[NotificationStatus.SENT]} already sent, skipped.", messages.WARNING)
        if skipped.get(NotificationStatus.SENDING):
            self.message_user(request, f"{skipped[NotificationStatus.SENDING]} being sent right now, skipped.", messages.WARNING)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("purpose", "email", "smart_account", "object_key", "created_at", "expires_at", "used_at")
    list_filter = ("purpose", ("used_at", admin.EmptyFieldListFilter))
    list_select_related = ("smart_account",)
    search_fields = ("email", "object_key", "smart_account__name")
    exclude = ("key",)  # the signed link's secret part: not for display
    date_hierarchy = "created_at"
