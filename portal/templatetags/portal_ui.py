"""Template helpers for the shared look: navigation state, usage bars, Bootstrap form widgets."""
from django import forms, template
from django.forms.boundfield import BoundField

register = template.Library()


@register.filter
def startswith(value: str, prefix: str) -> bool:
    """`{% if request.path|startswith:"/orders/" %}`: marks the current navbar section."""
    return str(value or "").startswith(prefix)


@register.simple_tag
def usage(in_use, purchased) -> dict:
    """Numbers for a usage bar: percent of the pool in use (0–100), available, shortage."""
    in_use, purchased = int(in_use or 0), int(purchased or 0)
    if purchased > 0:
        percent = min(100, round(100 * in_use / purchased))
    else:
        percent = 100 if in_use > 0 else 0
    return {
        "in_use": in_use,
        "purchased": purchased,
        "percent": percent,
        "available": max(purchased - in_use, 0),
        "shortage": max(in_use - purchased, 0),
    }


def _widget_kind(widget: forms.Widget) -> str:
    if isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        return "choices"
    if isinstance(widget, forms.CheckboxInput):
        return "check"
    if isinstance(widget, (forms.Select, forms.SelectMultiple)):
        return "select"
    return "control"


@register.filter
def widget_kind(field: BoundField) -> str:
    """How includes/form_field.html lays a field out: control | select | check | choices."""
    return _widget_kind(field.field.widget)


@register.filter
def bootstrap_widget(field: BoundField) -> str:
    """The field's widget with Bootstrap classes, `is-invalid` and `aria-invalid` when it has errors."""
    kind = _widget_kind(field.field.widget)
    css = {"check": "form-check-input", "select": "form-select", "choices": "", "control": "form-control"}[kind]
    existing = field.field.widget.attrs.get("class", "")
    classes = " ".join(c for c in (existing, css, "is-invalid" if field.errors else "") if c)
    attrs = {"class": classes} if classes else {}
    if field.errors:
        attrs["aria-invalid"] = "true"
        described_by = [f"{field.auto_id}_errors"]
        if field.help_text:
            described_by.insert(0, f"{field.auto_id}_helptext")
        attrs["aria-describedby"] = " ".join(described_by)
    return field.as_widget(attrs=attrs)


@register.simple_tag
def is_current(path: str, href: str, exact: bool = False) -> bool:
    """Whether a navigation link points at the current page (exact) or its section (prefix)."""
    if not href:
        return False
    return path == href if exact else str(path or "").startswith(href)
