"""Template helpers for the shared look: navigation state, usage bars, Bootstrap form widgets."""
import re

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import mark_safe

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


INDENT_LEVELS = 20  # static/css/portal.css defines .indent-0 … .indent-20


@register.filter
def bar_width(percent) -> str:
    """A progress bar's width as a class (bar-w-0 … bar-w-100): the CSP allows no style attribute."""
    try:
        value = round(float(percent))
    except (TypeError, ValueError):
        value = 0
    return f"bar-w-{max(0, min(100, value))}"


@register.filter
def indent(level) -> str:
    """A tree row's indent as a class (indent-0 … indent-20); deeper levels indent like level 20."""
    try:
        value = int(level)
    except (TypeError, ValueError):
        value = 0
    return f"indent-{max(0, min(INDENT_LEVELS, value))}"


DRF_FLOAT_RIGHT = re.compile(r"""\sstyle=["']float: right; margin-right: 10px;?["']""")


@register.filter(is_safe=True)
def drf_without_inline_style(html: str) -> str:
    """The browsable API's request buttons (rest_framework/base.html) float by a style attribute,
    which the CSP refuses: the same look by an attribute that static/css/browsable_api.css styles."""
    return mark_safe(DRF_FLOAT_RIGHT.sub(" data-float-end", str(html)))


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
