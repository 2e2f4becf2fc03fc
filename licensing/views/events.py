"""The event log of a scope (page and CSV export), and the Virtual Account suggestions of the
filters' search boxes."""
from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import selectors as account_selectors
from lib.csv import csv_response

from .. import selectors
from ..filtersets import EventFilterSet
from ..templatetags.licensing_ui import event_summary
from .scope import EVENTS_PER_PAGE, Scope, export_name, is_filtered, page_scope, paginate


VA_SUGGESTIONS = 20  # names a Virtual Account search box suggests at a time


def _events(request: HttpRequest, scope: Scope) -> EventFilterSet:
    base = selectors.events(scope.smart_account, user=request.user, virtual_account=scope.virtual_account)
    return EventFilterSet(request.GET or None, queryset=base.select_related("virtual_account", "actor"),
                          virtual_accounts=scope.virtual_accounts,
                          virtual_account_search_url=scope.url["virtual_account_search"])


@require_GET
@login_required
def event_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    context = {
        "scope": scope, "active": "events", "filterset": filterset, "page_obj": paginate(request, filterset.qs, EVENTS_PER_PAGE),
        "is_filtered": is_filtered(request), "export_query": request.GET.urlencode(),
    }
    return render(request, "licensing/event_list.html", context)


@require_GET
@login_required
def event_export(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> StreamingHttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    header = ["time", "type", "virtual_account", "actor", "summary", "object", "detail"]
    rows = (
        [timezone.localtime(e.created_at).isoformat(timespec="seconds"), e.action,
         e.virtual_account.name if e.virtual_account else "", e.actor_label, event_summary(e), e.object_repr,
         _json(e.detail)]
        for e in filterset.qs.iterator(chunk_size=2000)
    )
    return csv_response(export_name(scope, "events"), header, rows)


def _json(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


# --- a filter's Virtual Account, found by name ---------------------------------------------------


@require_GET
@login_required
def virtual_account_search(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    """The suggestions of a filter's Virtual Account box (htmx, licensing.forms.VirtualAccountSearchInput):
    the scope's Virtual Accounts the user may see whose name contains `q`, the first few in tree order."""
    scope = page_scope(request, sa_pk, va_pk)
    query = request.GET.get("q", "")[:100].strip()
    found = account_selectors.virtual_accounts_named_like(scope.virtual_accounts, query, limit=VA_SUGGESTIONS + 1)
    context = {"virtual_accounts": found[:VA_SUGGESTIONS], "more": len(found) > VA_SUGGESTIONS, "query": query}
    return render(request, "licensing/_virtual_account_options.html", context)
