"""Smart Account pages: the user's accounts, find one by domain and ask for access, create one,
request one for a customer (partners), and activate one from its emailed link."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from lib.forms import run_service
from lib.tables import table_configure, table_csv_response, wants_csv

from .. import permissions, selectors, services
from ..forms import (
    AccessRequestForm,
    ActivationForm,
    DomainSearchForm,
    SmartAccountCreateForm,
    SmartAccountRequestForm,
)
from ..models import (
    AccessRequest,
    AccessRequestStatus,
    Invitation,
    InvitationPurpose,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    normalise_domain,
)
from ..tables import SmartAccountTable
from .invitations import invitation_page


@login_required
def smart_account_list(request: HttpRequest) -> HttpResponse:
    accounts = permissions.visible(request.user, SmartAccount).select_related("partner").order_by("kind", "name")
    table = table_configure(request, SmartAccountTable(accounts))
    if wants_csv(request):
        return table_csv_response(table, f"smart-accounts-{timezone.localdate().isoformat()}.csv")
    pending = AccessRequest.objects.filter(requester=request.user, status=AccessRequestStatus.PENDING).select_related("smart_account")
    context = {"accounts": [row.record for row in table.rows], "table": table, "pending_requests": pending,
               "can_request_for_customer": permissions.can_request_account_for_customer(request.user)}
    return render(request, "accounts/smart_account_list.html", context)


@login_required
def smart_account_find(request: HttpRequest) -> HttpResponse:
    form = DomainSearchForm(request.GET or None)
    results = None
    if form.is_valid():
        domain = normalise_domain(form.cleaned_data["domain"])
        results = list(SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, domain=domain).order_by("name"))
        visible_ids = set(permissions.visible(request.user, SmartAccount).filter(domain=domain).values_list("pk", flat=True))
        pending_ids = set(
            AccessRequest.objects.filter(requester=request.user, status=AccessRequestStatus.PENDING,
                                         smart_account__in=results).values_list("smart_account_id", flat=True)
        )
        for sa in results:
            sa.is_visible = sa.pk in visible_ids
            sa.has_pending_request = sa.pk in pending_ids
            if sa.status != SmartAccountStatus.NEW:
                sa.request_reference = selectors.search_reference(smart_account=sa, user=request.user)
    pending = AccessRequest.objects.filter(requester=request.user).select_related("smart_account").order_by("-created_at")[:20]
    return render(request, "accounts/smart_account_find.html", {"form": form, "results": results, "my_requests": pending})


@login_required
def smart_account_create(request: HttpRequest) -> HttpResponse:
    form = SmartAccountCreateForm(request.POST or None, initial={"domain": request.user.email_domain})
    if request.method == "POST" and form.is_valid():
        sa = run_service(form, services.smart_account_create, refusal_on_form=True, actor=request.user, **form.cleaned_data)
        if sa is not None:
            messages.success(request, f"Smart Account {sa.name} is active and you are its administrator.")
            # e.g. back to a delegated order line that waited for this account.
            next_url = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
                return redirect(next_url)
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/smart_account_create.html", {"form": form})


@login_required
def smart_account_request(request: HttpRequest) -> HttpResponse:
    if not permissions.can_request_account_for_customer(request.user):
        raise PermissionDenied("Only partner users can request an account on a customer's behalf.")
    form = SmartAccountRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sa = run_service(form, services.smart_account_request, actor=request.user, **form.cleaned_data)
        if sa is not None:
            messages.success(
                request, f"Smart Account {sa.name} was requested. {sa.contact.email} got an email to activate it."
            )
            return redirect("accounts:smart_account_list")
    return render(request, "accounts/smart_account_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
@invitation_page(InvitationPurpose.ACTIVATE_ACCOUNT)
def smart_account_activate(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """The activation link's page: the named contact activates and may grant the partner a role."""
    sa = invitation.smart_account
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = run_service(form, services.smart_account_activate, smart_account=sa, actor=request.user,
                             grant_partner_role=form.cleaned_data["grant_partner_role"] or None)
        if result is not None:
            messages.success(request, f"{sa.name} is active. You are its Smart Account admin.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/smart_account_activate.html", {"form": form, "smart_account": sa, "invitation": invitation})


@login_required
def access_request_create(request: HttpRequest, ref: str) -> HttpResponse:
    # Reached only from the user's own domain search (a reference signed for them): trying ids,
    # or someone else's, altered or stale reference, shows nothing. The page shows what the search
    # shows (name, domain, status) and nothing of the tree, whatever the user's roles.
    sa = selectors.account_from_search_reference(reference=ref, user=request.user)
    if sa is None:
        raise Http404("No such account.")
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = run_service(form, services.access_request_create, refusal_on_form=True, smart_account=sa,
                             actor=request.user, message=form.cleaned_data["message"],
                             scope_wanted=form.cleaned_data["scope_wanted"])
        if result is not None:
            messages.success(request, f"Your request was sent to the admins of {sa.name}. You'll get an email when they decide.")
            return redirect(f"{reverse('accounts:smart_account_find')}?domain={sa.domain}")
    return render(request, "accounts/access_request_create.html", {"form": form, "smart_account": sa})
