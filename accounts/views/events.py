"""The event log of a Smart Account or of a Virtual Account's subtree (page and CSV export), and
the Virtual Account suggestions of its filter's search box.

The log is shown among the pages of a scope that a higher app frames (licensing's tabs), so that
app mounts these views and hands in, as URL keyword arguments, `scope_of` (request, sa_pk,
va_pk → what the page covers, 404 otherwise) and `base_template` (the frame the page extends):
accounts never imports the apps above it."""
from __future__ import annotations

import json
import re
from typing import Callable, Protocol

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lib.csv import csv_response

from .. import selectors
from ..event_log import event_describe, events
from ..filtersets import EventFilterSet
from ..models import SmartAccount, VirtualAccount


EVENTS_PER_PAGE = 50
VA_SUGGESTIONS = 20  # names a Virtual Account search box suggests at a time


class EventScope(Protocol):
    """What an event log page covers (licensing.views.scope.Scope is one)."""

    smart_account: SmartAccount
    virtual_account: VirtualAccount | None
    virtual_accounts: QuerySet[VirtualAccount]  # those the user may see
    label: str
    url: object  # `url["virtual_account_search"]`: the page's own search box URL


ScopeOf = Callable[[HttpRequest, "int | None", "int | None"], EventScope]


def _events(request: HttpRequest, scope: EventScope) -> EventFilterSet:
    base = events(scope.smart_account, user=request.user, virtual_account=scope.virtual_account)
    return EventFilterSet(request.GET or None, queryset=base.select_related("virtual_account", "actor"),
                          virtual_accounts=scope.virtual_accounts,
                          virtual_account_search_url=scope.url["virtual_account_search"])


def _is_filtered(request: HttpRequest) -> bool:
    return any(value for key, value in request.GET.items() if key != "page")


@require_GET
@login_required
def event_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None, *,
               scope_of: ScopeOf, base_template: str) -> HttpResponse:
    scope = scope_of(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    context = {
        "scope": scope, "active": "events", "filterset": filterset, "base_template": base_template,
        "page_obj": Paginator(filterset.qs, EVENTS_PER_PAGE).get_page(request.GET.get("page")),
        "is_filtered": _is_filtered(request), "export_query": request.GET.urlencode(),
    }
    return render(request, "accounts/event_list.html", context)


@require_GET
@login_required
def event_export(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None, *,
                 scope_of: ScopeOf, base_template: str = "") -> StreamingHttpResponse:
    scope = scope_of(request, sa_pk, va_pk)
    filterset = _events(request, scope)
    header = ["time", "type", "virtual_account", "actor", "summary", "object", "detail"]
    rows = (
        [timezone.localtime(e.created_at).isoformat(timespec="seconds"), e.action,
         e.virtual_account.name if e.virtual_account else "", e.actor_label, event_describe(e).sentence, e.object_repr,
         _json(e.detail)]
        for e in filterset.qs.iterator(chunk_size=2000)
    )
    return csv_response(_export_name(scope, "events"), header, rows)


def _json(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


def _export_name(scope: EventScope, what: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scope.label).strip("-").lower() or "account"
    return f"{slug}-{what}-{timezone.localdate().isoformat()}.csv"


# --- a filter's Virtual Account, found by name ---------------------------------------------------


@require_GET
@login_required
def virtual_account_search(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None, *,
                           scope_of: ScopeOf, base_template: str = "") -> HttpResponse:
    """The suggestions of a filter's Virtual Account box (htmx, accounts.widgets.VirtualAccountSearchInput):
    the scope's Virtual Accounts the user may see whose name contains `q`, the first few in tree order."""
    scope = scope_of(request, sa_pk, va_pk)
    query = request.GET.get("q", "")[:100].strip()
    found = selectors.virtual_accounts_named_like(scope.virtual_accounts, query, limit=VA_SUGGESTIONS + 1)
    context = {"virtual_accounts": found[:VA_SUGGESTIONS], "more": len(found) > VA_SUGGESTIONS, "query": query}
    return render(request, "accounts/_virtual_account_options.html", context)
