"""Forms meet services: a service's ValidationError shown on the form that called it.

One convention for errors about one item of a list the service was given: the key
`lines.<index>.<field>` (0-based), e.g. `{"lines.1.smart_account": ["…"]}`, a flat field-keyed 400
for the API that `line_errors` regroups per line for a formset."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Callable, TypeVar

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError

T = TypeVar("T")


def form_add_service_errors(
    form: forms.Form, exc: ValidationError, *, lines: Sequence[forms.Form] | None = None,
    line_fields: dict[str, str] | None = None, list_errors: list[str] | None = None,
) -> None:
    """A service's ValidationError on the form: each message next to the field it names, the
    others (and a message about no field) on top of the form.

    With `lines` (the line forms, in the order the service got them), `lines.<i>.<field>` goes
    next to line i's field: its own `add_service_errors(errors)` if it has one, else the field
    `line_fields` maps it to (or of that name), else on top of the line. `list_errors` collects
    the messages about the list as a whole (key `lines`) where a formset shows them."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    per_line = line_errors(exc) if lines is not None else {}
    for index, errors in per_line.items():
        if index >= len(lines):
            form.add_error(None, [m for messages in errors.values() for m in messages])
        elif hasattr(lines[index], "add_service_errors"):
            lines[index].add_service_errors(errors)
        else:
            for field, messages in errors.items():
                field = (line_fields or {}).get(field, field)
                lines[index].add_error(field if field in lines[index].fields else None, messages)
    for field, errors in exc.error_dict.items():
        if per_line and field.startswith("lines."):
            continue
        messages = [m for error in errors for m in error.messages]
        if field == "lines" and list_errors is not None:
            list_errors.extend(messages)
        else:
            form.add_error(field if field in form.fields else None, messages)


def run_service(form: forms.Form, fn: Callable[..., T], /, *, refusal_on_form: bool = False, **kwargs) -> T | None:
    """Call a service; its ValidationError lands next to the matching field (or on top of
    the form) and nothing is changed. Returns the service's result, or None on error.

    `refusal_on_form`: a PermissionDenied is shown on top of the form too, for refusals that are
    an answer to the user (an unverified address, a rule of the account), not a 403 page."""
    try:
        return fn(**kwargs)
    except ValidationError as exc:
        form_add_service_errors(form, exc)
    except PermissionDenied as exc:
        if not refusal_on_form:
            raise
        form.add_error(None, str(exc))
    return None


def line_errors(exc: ValidationError) -> dict[int, dict[str, list[str]]]:
    """The per-line errors (`lines.<index>.<field>`) regrouped for a formset: {index: {field: [messages]}}."""
    grouped: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for key, messages in getattr(exc, "message_dict", {}).items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            grouped[int(parts[1])][parts[2]] = messages
    return dict(grouped)
