"""Users (no username: the email is the login) and their API keys."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ValidationError

from lib.admin import titled

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
