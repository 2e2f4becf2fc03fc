"""Users and roles of a Smart Account: who holds which role, granting and revoking roles, and
the admins' answer to access requests."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from lib.forms import run_service
from lib.tables import table_configure, table_csv_response, wants_csv

from .. import permissions, selectors, services
from ..forms import AccessRequestApproveForm, AccessRequestDenyForm, RoleGrantForm
from ..models import (
    AccessRequest,
    AccessRequestStatus,
    PartnerMembership,
    Role,
    SmartAccountRole,
    VirtualAccount,
    VirtualAccountRole,
)
from ..permissions import ADMINISTER
from ..tables import RoleTable
from .virtual_accounts import smart_account_or_404, virtual_account_or_404


@login_required
def smart_account_users(request: HttpRequest, pk: int) -> HttpResponse:
    return _users_page(request, smart_account_or_404(request, pk))


def _grant_form(request: HttpRequest, sa, data=None) -> RoleGrantForm:
    """The grant form of `sa` for this user: SA roles for SA admins, else VA roles on the
    Virtual Accounts they administer."""
    is_sa_admin = permissions.can(request.user, ADMINISTER, sa)
    vas = (VirtualAccount.objects.filter(smart_account=sa) if is_sa_admin
           else permissions.visible_virtual_accounts(request.user, ADMINISTER).filter(smart_account=sa))
    return RoleGrantForm(data, virtual_accounts=vas, sa_roles_allowed=is_sa_admin)


def _users_page(request: HttpRequest, sa, *, grant_form: RoleGrantForm | None = None) -> HttpResponse:
    """The users and roles page; `grant_form` bound when a grant was refused, so that its errors
    stand next to their fields and what was typed stays."""
    user = request.user
    is_sa_admin = permissions.can(user, ADMINISTER, sa)
    managed_vas = permissions.visible_virtual_accounts(user, ADMINISTER).filter(smart_account=sa)
    if not is_sa_admin and not managed_vas.exists():
        raise permissions.refusal(request.user, "Only account admins manage users and roles.")
    sa_roles = (
        SmartAccountRole.objects.filter(content_object=sa).select_related("user", "permission", "granted_by")
        .order_by("user__email") if is_sa_admin else SmartAccountRole.objects.none()
    )
    va_roles = (
        VirtualAccountRole.objects.filter(content_object__in=managed_vas if not is_sa_admin else
                                          VirtualAccount.objects.filter(smart_account=sa))
        .select_related("user", "permission", "granted_by", "content_object").order_by("content_object__lft", "user__email")
    )
    sa_roles, va_roles = list(sa_roles), list(va_roles)
    partner_names = dict(
        PartnerMembership.objects.filter(user__in=[r.user_id for r in sa_roles + va_roles])
        .values_list("user_id", "partner__name")
    )
    for row in sa_roles + va_roles:
        row.partner_name = partner_names.get(row.user_id)
        row.scope_label = "Whole account"
    for row in va_roles:
        row.scope_label = row.content_object.name
    roles = table_configure(request, RoleTable(sa_roles + va_roles))
    if wants_csv(request):
        return table_csv_response(roles, f"{slugify(sa.name) or 'account'}-roles-{timezone.localdate().isoformat()}.csv")
    requests = (
        AccessRequest.objects.filter(smart_account=sa, status=AccessRequestStatus.PENDING)
        .select_related("requester").prefetch_related(Prefetch("requested_virtual_accounts"))
        if is_sa_admin else AccessRequest.objects.none()
    )
    requests = list(requests)
    for access_request in requests:
        access_request.preselected_role = AccessRequestApproveForm.least_privilege(access_request.requested_virtual_accounts.all())
    context = {
        "smart_account": sa, "sa_roles": sa_roles, "va_roles": va_roles, "roles_table": roles,
        "requests": requests, "grant_form": grant_form or _grant_form(request, sa), "is_sa_admin": is_sa_admin,
        "approve_form": AccessRequestApproveForm(smart_account=sa), "deny_form": AccessRequestDenyForm(),
    }
    return render(request, "accounts/smart_account_users.html", context)


@require_POST
@login_required
def role_grant(request: HttpRequest, pk: int) -> HttpResponse:
    sa = smart_account_or_404(request, pk)
    # Any role on any of the account's VAs is taken here: the service decides who may grant what (403).
    form = RoleGrantForm(request.POST, virtual_accounts=VirtualAccount.objects.filter(smart_account=sa), sa_roles_allowed=True)
    if form.is_valid():
        data = form.cleaned_data
        # Confirmed only what the user may grant; anything else goes to the service's refusal.
        if form.needs_confirmation() and permissions.can_manage_role(
                request.user, smart_account=sa, role=data["role"], virtual_account=data["virtual_account"]):
            va = data["virtual_account"]
            return _confirm_admin_role(request, sa, form, email=data["user_email"], scope=va.name if va else None,
                                       action=reverse("accounts:role_grant", args=[sa.pk]))
        row = run_service(form, services.role_grant, smart_account=sa, email=data["user_email"], role=data["role"],
                          virtual_account=data["virtual_account"], actor=request.user)
        if row is not None:
            messages.success(request, f"{row.user.email} is now {row.permission.name}.")
            return redirect("accounts:smart_account_users", pk=sa.pk)
    # Refused: the page again, the errors next to their fields and what was typed kept, in the
    # form this user is shown (their own roles and Virtual Accounts only).
    shown = _grant_form(request, sa, request.POST)
    shown._errors = form.errors
    return _users_page(request, sa, grant_form=shown)


def _confirm_admin_role(request: HttpRequest, sa, form, *, email: str, scope, action: str) -> HttpResponse:
    """One more step before an admin role is granted: what it allows, and the same form posted
    again with `confirmed`."""
    role = Role(form.cleaned_data["role"])
    hidden = [(name, value) for name, values in request.POST.lists() if name not in ("csrfmiddlewaretoken", "confirmed")
              for value in values]
    context = {"smart_account": sa, "email": email, "role": role, "scope": scope, "action": action, "hidden": hidden,
               "whole_account": role == Role.SA_ADMIN}
    return render(request, "accounts/role_confirm.html", context)


@require_POST
@login_required
def role_revoke(request: HttpRequest, role_id) -> HttpResponse:
    row = selectors.role_get(role_id)
    if row is None:
        raise Http404("No such role.")
    if isinstance(row, SmartAccountRole):
        sa = smart_account_or_404(request, row.content_object_id)  # 404 for outsiders
    else:
        # A VA role lives in its Virtual Account: 404 unless the user sees that VA (DESIGN.md §3).
        sa = virtual_account_or_404(request, row.content_object_id).smart_account
    try:
        services.role_revoke(role=row, actor=request.user)
        messages.success(request, f"{row.user.email} no longer has the role {row.permission.name}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:smart_account_users", pk=sa.pk)


def _access_request(request: HttpRequest, request_id: int) -> AccessRequest:
    access_request = get_object_or_404(AccessRequest.objects.select_related("smart_account", "requester"), pk=request_id)
    smart_account_or_404(request, access_request.smart_account_id)
    permissions.require(request.user, ADMINISTER, access_request.smart_account)
    return access_request


@require_POST
@login_required
def access_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    access_request = _access_request(request, request_id)
    form = AccessRequestApproveForm(request.POST, smart_account=access_request.smart_account)
    if form.is_valid() and form.needs_confirmation():
        vas = form.cleaned_data["virtual_accounts"]
        return _confirm_admin_role(request, access_request.smart_account, form, email=access_request.requester.email,
                                   scope=", ".join(va.name for va in vas) if vas else None,
                                   action=reverse("accounts:access_request_approve", args=[access_request.pk]))
    if form.is_valid():
        done = run_service(form, services.access_request_approve, access_request=access_request, actor=request.user,
                           role=form.cleaned_data["role"], virtual_accounts=form.cleaned_data["virtual_accounts"])
        if done is not None:
            messages.success(request, f"Approved: {access_request.requester.email} has the role {done.get_granted_role_display()}.")
            return redirect("accounts:smart_account_users", pk=access_request.smart_account_id)
    messages.error(request, "Not approved: " + " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("accounts:smart_account_users", pk=access_request.smart_account_id)


@require_POST
@login_required
def access_request_deny(request: HttpRequest, request_id: int) -> HttpResponse:
    access_request = _access_request(request, request_id)
    form = AccessRequestDenyForm(request.POST)
    if form.is_valid() and run_service(form, services.access_request_deny, access_request=access_request,
                                       actor=request.user, reason=form.cleaned_data["reason"]) is not None:
        messages.success(request, f"Declined the request of {access_request.requester.email}; they were told.")
    else:
        messages.error(request, "Not declined: " + " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("accounts:smart_account_users", pk=access_request.smart_account_id)
