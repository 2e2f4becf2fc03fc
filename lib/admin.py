"""What every app's admin module shares: service calls whose refusals become messages, admin
actions that call a service per selected row, read-only bases for rows only services write, and
a list filter with a clearer title."""
from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.core.exceptions import PermissionDenied, ValidationError


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
