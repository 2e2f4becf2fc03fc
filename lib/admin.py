"""What every app's admin module shares: service calls whose refusals become messages, admin
actions that call a service per selected row, deletes that a service makes (or refuses),
read-only bases for rows only services write, and a list filter with a clearer title."""
from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse


def reasons(exc: ValidationError | PermissionDenied) -> str:
    """A service's refusal, in words."""
    return " ".join(getattr(exc, "messages", None) or [str(exc) or "Not allowed."])


def call_service(modeladmin, request, fn: Callable, failed: str):
    """`fn()` (a service) and what it returns; if it refuses, None and the message
    "`failed`: why" for staff."""
    try:
        return fn()
    except (ValidationError, PermissionDenied) as exc:
        modeladmin.message_user(request, f"{failed}: {reasons(exc)}", messages.ERROR)
        return None


def run_service_action(modeladmin, request, queryset, fn: Callable, verb: str) -> None:
    """Call `fn(obj)` (a service) for each selected object, each in its own transaction, and
    report how many were `verb` and why the others were not."""
    done, failures = 0, []
    for obj in queryset:
        try:
            fn(obj)
        except (ValidationError, PermissionDenied) as exc:
            failures.append(f"{obj}: {reasons(exc)}")
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} {model_ngettext(modeladmin.opts, done)} {verb}.", messages.SUCCESS)
    if failures:
        noun = model_ngettext(modeladmin.opts, len(failures))
        modeladmin.message_user(
            request, f"{len(failures)} {noun} not {verb}: " + "; ".join(failures), messages.ERROR
        )


def _delete_selected_through_service(modeladmin, request, queryset):
    """Django's confirmation page; once confirmed, `delete_queryset` (the service, row by row)
    reports what was done and refused, instead of "Successfully deleted"."""
    if not request.POST.get("post"):
        return delete_selected(modeladmin, request, queryset)
    if not modeladmin.has_delete_permission(request):
        raise PermissionDenied
    modeladmin.delete_queryset(request, queryset)
    return None


class ServiceDeleteMixin:
    """Deleting a row is a service's decision (closing a user's account, revoking a role): set
    `delete_verb` and define `delete_through_service(request, obj)`. From the row's page and from
    the "delete selected" action alike, a refusal is shown with the service's reason and nothing
    is deleted; the admin history logs only what the service did."""

    delete_verb = "deleted"
    delete_description: str | None = None  # the "delete selected" action's label, if not Django's

    def delete_through_service(self, request, obj) -> None:
        raise NotImplementedError

    def _delete_logged(self, request, obj) -> None:
        # Logged in the service's transaction: a refusal rolls the history entry back too.
        with transaction.atomic():
            admin.ModelAdmin.log_deletions(self, request, [obj])
            self.delete_through_service(request, obj)

    def log_deletions(self, request, queryset):
        """Not before the delete (Django's default): `_delete_logged` logs what is done."""
        return []

    def get_deleted_objects(self, objs, request):
        # What goes with the row is the service's business, not the cascade's: list the rows.
        objs = list(objs)
        return [str(obj) for obj in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        done = call_service(
            self, request, lambda: self._delete_logged(request, obj) or True, f"{obj} not {self.delete_verb}"
        )
        if not done:
            request._service_delete_refused = True

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_service_delete_refused", False):
            # Not "deleted successfully": back to the list, where the reason is shown.
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))
        if self.delete_verb == "deleted" or IS_POPUP_VAR in request.POST:
            return super().response_delete(request, obj_display, obj_id)
        # What the service did ("closed", "revoked"), not "deleted".
        self.message_user(
            request, f"The {self.opts.verbose_name} “{obj_display}” was {self.delete_verb}.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def delete_queryset(self, request, queryset):
        run_service_action(self, request, queryset, lambda obj: self._delete_logged(request, obj), self.delete_verb)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (
                _delete_selected_through_service, name, self.delete_description or description
            )
        return actions


def titled(title: str) -> type[admin.FieldListFilter]:
    """A list filter for a field across a relation, under a clearer title than the field's
    own ("account kind", not "kind"): `("smart_account__kind", titled("account kind"))`."""

    class TitledFilter(admin.FieldListFilter):
        def __new__(cls, *args, **kwargs):
            spec = admin.FieldListFilter.create(*args, **kwargs)
            spec.title = title
            return spec

    return TitledFilter


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listing and viewing only: these rows are written by services, never by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyTabularInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
