"""Support cases: staff read the thread, reply and set the status, all through the services."""
from django.contrib import admin
from django.forms import BaseInlineFormSet

from lib.admin import ReadOnlyTabularInline, call_service

from ..models import SupportCase, SupportMessage


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

    def has_delete_permission(self, request, obj=None) -> bool:
        # No service deletes a case: the user's thread stays; staff resolve it instead.
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
            call_service(
                self, request,
                lambda: services.support_case_set_status(case=case, status=form.cleaned_data["status"], actor=request.user),
                "Status not changed",
            )

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
