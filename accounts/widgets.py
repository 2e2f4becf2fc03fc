"""Form widgets of the filters over the event log (and any long list of Virtual Accounts): a
select that renders fast, and a Virtual Account chosen by name."""
from __future__ import annotations

from html import escape

from django import forms
from django.forms.utils import flatatt
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from .models import VirtualAccount


def _html(value) -> str:
    return value.__html__() if hasattr(value, "__html__") else escape(str(value))


def _attrs(attrs: dict) -> str:
    return "".join(f" {k}" if v is True else f' {k}="{_html(v)}"' for k, v in attrs.items() if v is not False and v is not None)


class QuickSelect(forms.Select):
    """Django's select written out in Python: its template includes another one per option, and
    a select of 50 event types took longer to render than the event log's queries to run."""

    def render(self, name, value, attrs=None, renderer=None) -> str:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{_html(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group, options, _ in widget["optgroups"]:
            if group:
                parts.append(f'\n  <optgroup label="{_html(group)}">')
            parts.extend(f'\n  <option value="{_html(o["value"])}"{_attrs(o["attrs"])}>{_html(o["label"])}</option>' for o in options)
            if group:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


class VirtualAccountSearchInput(forms.Widget):
    """A Virtual Account chosen by name, sent by id: a hidden input with the id (the filter's URL
    parameter, as a select sends it) and a search box showing the chosen one's name, whose
    suggestions come from `search_url` (htmx; accounts.views.events.virtual_account_search). For
    scopes with more Virtual Accounts than a select can list."""

    template_name = "accounts/_virtual_account_search.html"

    def __init__(self, *, search_url: str, chosen: VirtualAccount | None = None, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.search_url, self.chosen = search_url, chosen

    def render(self, name, value, attrs=None, renderer=None) -> str:
        # The project's templates, not the form renderer's (which looks in the apps only).
        context = self.get_context(name, value, attrs)
        chosen = self.chosen if self.chosen is not None and str(self.chosen.pk) == str(value or "") else None
        aria = flatatt({k: v for k, v in context["widget"]["attrs"].items() if k.startswith("aria-")})  # errors
        return render_to_string(self.template_name, {**context, "aria": aria, "search_url": self.search_url, "chosen": chosen})
