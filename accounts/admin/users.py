"""Users (no username: the email is the login), their API keys and their second factors."""
import allauth.mfa.admin  # noqa: F401  (registers allauth's admin first: replaced below)
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError

from lib.admin import ReadOnlyAdmin, ServiceDeleteMixin, run_service_action, titled

from ..models import ApiKey, User


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
class UserAdmin(ServiceDeleteMixin, DjangoUserAdmin):
    """A user is added by `user_create` (a verified email, the password rules) and "deleted" by
    `user_close`, as in the API: the account is closed, the event log keeps a pseudonym, and the
    only admin of an account or a partner is refused until someone else is made admin."""

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
    delete_verb = "closed"
    delete_description = "Close the selected users' accounts"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Its owner changes it, verified (allauth keeps its EmailAddress): never by hand here.
            fields.append("email")
        if not request.user.is_superuser:
            # Who is staff and what they may do: a superuser's decision, or any staff member
            # allowed to change users could make themselves one.
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from accounts import services

        user = services.user_create(email=obj.email, password=form.cleaned_data["password1"], actor=request.user)
        obj.pk, obj._state, obj.password = user.pk, user._state, user.password

    def delete_through_service(self, request, obj) -> None:
        from accounts import services

        services.user_close(user=obj, actor=request.user)

    @admin.display(ordering="partner_membership__partner__name")
    def partner(self, user: User):
        membership = getattr(user, "partner_membership", None)
        return membership.partner.name if membership else "—"


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are created by their owner (the key is shown once) and revoked by `api_key_revoke`:
    here with the action, which records the revocation in the owner's accounts' event logs.
    Nothing is edited by hand, so a revoked key stays revoked."""

    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("user",)
    search_fields = ("name", "prefix", "user__email")
    fields = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason")
    readonly_fields = fields
    date_hierarchy = "created_at"
    actions = ("revoke_selected",)

    def has_revoke_permission(self, request) -> bool:
        # Revoking changes the key: Django's change permission on API keys decides.
        return admin.ModelAdmin.has_change_permission(self, request)

    @admin.action(description="Revoke selected API keys", permissions=("revoke",))
    def revoke_selected(self, request, queryset):
        from accounts import services

        run_service_action(
            self, request, queryset, lambda key: services.api_key_revoke(key=key, actor=request.user), "revoked"
        )


# allauth's lets staff edit a user's TOTP secret and delete a factor without the rest.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(ServiceDeleteMixin, ReadOnlyAdmin):
    """Second factors are set up by their users; staff may look (never at the secret) and turn
    one off through `mfa_authenticator_remove`, which stops the user's API keys too."""

    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type", "created_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__email",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields
    delete_verb = "removed"
    delete_description = "Turn off the selected second factors"

    def has_delete_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_through_service(self, request, obj) -> None:
        from accounts import services

        services.mfa_authenticator_remove(authenticator=obj, actor=request.user)
