"""Forms meet services: a service's ValidationError shown on the form that called it.

One convention for errors about one item of a list the service was given: the key
`lines.<index>.<field>` (0-based), e.g. `{"lines.1.smart_account": ["…"]}`, a flat field-keyed 400
for the API that `line_errors` regroups per line for a formset."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, TypeVar

from django import forms
from django.core.exceptions import ValidationError

T = TypeVar("T")


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError on the form: each message next to the field it names, the
    others (and a message about no field) on top of the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error.messages)
    else:
        form.add_error(None, exc.messages)


def run_service(form: forms.Form, fn: Callable[..., T], **kwargs) -> T | None:
    """Call a service; its ValidationError lands next to the matching field (or on top of
    the form) and nothing is changed. Returns the service's result, or None on error."""
    try:
        return fn(**kwargs)
    except ValidationError as exc:
        form_add_service_errors(form, exc)
        return None


def line_errors(exc: ValidationError) -> dict[int, dict[str, list[str]]]:
    """The per-line errors (`lines.<index>.<field>`) regrouped for a formset: {index: {field: [messages]}}."""
    grouped: dict[int, dict[str, list[str]]] = defaultdict(dict)
    for key, messages in getattr(exc, "message_dict", {}).items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            grouped[int(parts[1])][parts[2]] = messages
    return dict(grouped)
