"""The user's own pages: help (public), privacy (download my data, close my account), support
cases and API keys."""
from __future__ import annotations

import datetime
import json

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lib.forms import run_service
from lib.tables import table_configure, table_csv_response, wants_csv

from .. import permissions, selectors, services
from ..forms import AccountCloseForm, ApiKeyCreateForm, SupportCaseForm, SupportReplyForm
from ..models import ApiKey, SmartAccount, SupportCase, SupportCaseStatus
from ..tables import ApiKeyTable, SupportCaseTable


# --- help (public) -------------------------------------------------------------------------------

HELP_TOPICS = {
    "index": "Help",
    "accounts": "Smart Accounts and holding accounts",
    "virtual_accounts": "Structuring Virtual Accounts",
    "partner_access": "Partner access",
    "privacy": "Privacy and your data",
}


@require_GET
def help_page(request: HttpRequest, topic: str) -> HttpResponse:
    if topic not in HELP_TOPICS:
        raise Http404("No such help page.")
    context = {"topic": topic, "help_title": HELP_TOPICS[topic], "invitation_days": settings.INVITATION_MAX_AGE_DAYS}
    return render(request, f"portal/help/{topic}.html", context)


# --- privacy: download my data, close my account ------------------------------------------------


@login_required
def privacy_overview(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/privacy.html")


@require_GET
@never_cache
@login_required
def privacy_export(request: HttpRequest) -> HttpResponse:
    """Everything kept about the signed-in user, as a JSON download."""
    data = selectors.user_personal_data(request.user)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="smart-licensing-my-data-{timezone.now():%Y-%m-%d}.json"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
@reauthentication_required(allow_get=True)  # closing is for the owner at the keyboard, not an open session
def privacy_close(request: HttpRequest) -> HttpResponse:
    """Close the signed-in user's account after they type their email address, then sign out."""
    form = AccountCloseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        run_service(form, services.user_close, user=request.user, actor=request.user,
                    confirm_email=form.cleaned_data["confirm_email"])
    if request.method == "POST" and form.is_valid() and not form.errors:
        logout(request)
        messages.info(request, "Your account is closed and you were signed out.")
        return redirect("accounts:privacy_closed")
    context = {"form": form, "sole_admin_accounts": selectors.sole_admin_accounts(user=request.user),
               "sole_partner_admin_of": selectors.sole_partner_admin_of(user=request.user)}
    return render(request, "accounts/privacy_close.html", context)


@require_GET
def privacy_closed(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/privacy_closed.html")


# --- support cases (staff answer in the admin) --------------------------------------------------


@login_required
def support_case_list(request: HttpRequest) -> HttpResponse:
    table = table_configure(request, SupportCaseTable(selectors.support_cases_of(user=request.user)))
    return render(request, "accounts/support_case_list.html", {"cases": [row.record for row in table.rows], "table": table})


@require_http_methods(["GET", "POST"])
@login_required
def support_case_create(request: HttpRequest) -> HttpResponse:
    accounts = permissions.visible(request.user, SmartAccount).order_by("kind", "name")
    initial = {"smart_account": request.GET.get("smart_account"), "order_number": request.GET.get("order", "")}
    form = SupportCaseForm(request.POST or None, accounts=accounts, initial=initial)
    if request.method == "POST" and form.is_valid():
        case = run_service(form, services.support_case_open, actor=request.user, **form.cleaned_data)
        if case is not None:
            messages.success(request, f"Case #{case.pk} is open. You get an email when our support team replies.")
            return redirect("accounts:support_case_detail", pk=case.pk)
    return render(request, "accounts/support_case_create.html", {"form": form})


def _support_case(request: HttpRequest, pk: int) -> SupportCase:
    # Only the user's own cases exist for them: anyone else's answers 404.
    return get_object_or_404(selectors.support_cases_of(user=request.user), pk=pk)


def _render_support_case(request: HttpRequest, case: SupportCase, *, form: SupportReplyForm | None = None) -> HttpResponse:
    context = {
        "case": case,
        "thread": case.messages.order_by("created_at", "pk"),
        "form": form or SupportReplyForm(),
    }
    return render(request, "accounts/support_case_detail.html", context)


@login_required
def support_case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_support_case(request, _support_case(request, pk))


@require_POST
@login_required
def support_case_reply(request: HttpRequest, pk: int) -> HttpResponse:
    case = _support_case(request, pk)
    form = SupportReplyForm(request.POST)
    if form.is_valid():
        reopened = case.status == SupportCaseStatus.RESOLVED
        message = run_service(form, services.support_case_reply, case=case, author=request.user, body=form.cleaned_data["body"])
        if message is not None:
            messages.success(request, "Reply sent; the case is open again." if reopened else "Reply sent to our support team.")
            return redirect("accounts:support_case_detail", pk=case.pk)
    return _render_support_case(request, case, form=form)


@require_POST
@login_required
def support_case_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    case = _support_case(request, pk)
    services.support_case_set_status(case=case, status=SupportCaseStatus.RESOLVED, actor=request.user)
    messages.success(request, f"Case #{case.pk} is resolved. Reply to it any time to open it again.")
    return redirect("accounts:support_case_detail", pk=case.pk)


# --- profile: API keys -------------------------------------------------------------------------

# The raw key of a key just created waits here for exactly one page render, then is gone.
NEW_API_KEY_SESSION_KEY = "accounts.new_api_key"


def _render_api_keys(request: HttpRequest, *, form: ApiKeyCreateForm | None = None) -> HttpResponse:
    keys = list(ApiKey.objects.filter(user=request.user).order_by("-created_at", "-pk"))
    now = timezone.now()
    for key in keys:
        key.state = "revoked" if key.revoked_at else "expired" if key.expires_at and key.expires_at <= now else "active"
        key.expires_sort = key.expires_at or datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)  # never: last
    table = table_configure(request, ApiKeyTable(keys))
    if wants_csv(request):
        # Names, dates and status only: a key's secret is shown once, when it is made, and never again.
        return table_csv_response(table, f"api-keys-{timezone.localdate().isoformat()}.csv")
    bulk_revocations = [k for k in keys if k.revoked_at and k.revoked_reason in services.CREDENTIALS_REVOKED_BECAUSE.values()]
    latest = max(bulk_revocations, key=lambda k: k.revoked_at, default=None)
    if latest and any(k.created_at > latest.revoked_at for k in keys):
        latest = None  # said until the user makes a new key
    context = {
        "keys": [row.record for row in table.rows],
        "table": table,
        "form": form or ApiKeyCreateForm(),
        "new_key": request.session.pop(NEW_API_KEY_SESSION_KEY, None),
        "now": now,
        # The latest "all keys revoked with the password/MFA" is said above the table, with its reason.
        "revoked_with_password": latest,
    }
    return render(request, "accounts/api_key_list.html", context)


@never_cache
@login_required
def api_key_list(request: HttpRequest) -> HttpResponse:
    return _render_api_keys(request)


@require_POST
@never_cache
@login_required
@reauthentication_required  # a session left open must not mint a lasting credential
def api_key_create(request: HttpRequest) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        result = run_service(form, services.api_key_create, user=request.user, name=form.cleaned_data["name"],
                             expires_in_days=form.cleaned_data["expires_in_days"])
        if result is not None:
            key, raw = result
            request.session[NEW_API_KEY_SESSION_KEY] = {"id": key.pk, "name": key.name, "key": raw}
            messages.success(request, f"API key “{key.name}” created. Copy it now: it is shown only once.")
            return redirect("accounts:api_key_list")
    return _render_api_keys(request, form=form)


@require_POST
@login_required
def api_key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    if key.revoked_at is not None:
        messages.info(request, f"API key “{key.name}” was already revoked.")
    else:
        services.api_key_revoke(key=key, actor=request.user)
        messages.success(request, f"API key “{key.name}” is revoked; requests using it are refused from now on.")
    return redirect("accounts:api_key_list")
