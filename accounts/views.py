"""Pages of the accounts app: find, create and request Smart Accounts, activate them, organise
Virtual Accounts, and manage users, roles and access requests. Each view binds a form, calls
one service and redirects; who may do what is asked of accounts.permissions."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import permissions, services
from .forms import (
    AccessRequestApproveForm,
    AccessRequestDenyForm,
    AccessRequestForm,
    ActivationForm,
    DomainSearchForm,
    RoleGrantForm,
    SmartAccountCreateForm,
    SmartAccountRequestForm,
    VirtualAccountForm,
    run_service,
)
from .models import (
    AccessRequest,
    AccessRequestStatus,
    PartnerMembership,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    VirtualAccount,
    VirtualAccountRole,
    normalise_domain,
)
from .permissions import ADMINISTER, STRUCTURE, VIEW


def _smart_account(request: HttpRequest, pk: int, capability=VIEW) -> SmartAccount:
    return permissions.get_or_404(request.user, SmartAccount.objects.all(), capability, pk=pk)


def _virtual_account(request: HttpRequest, pk: int, capability=VIEW) -> VirtualAccount:
    return permissions.get_or_404(request.user, VirtualAccount.objects.select_related("smart_account", "parent"), capability, pk=pk)


@login_required
def smart_account_list(request: HttpRequest) -> HttpResponse:
    accounts = permissions.visible(request.user, SmartAccount).select_related("partner").order_by("kind", "name")
    pending = AccessRequest.objects.filter(requester=request.user, status=AccessRequestStatus.PENDING).select_related("smart_account")
    return render(request, "accounts/smart_account_list.html", {"accounts": accounts, "pending_requests": pending})


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
    pending = AccessRequest.objects.filter(requester=request.user).select_related("smart_account").order_by("-created_at")[:20]
    return render(request, "accounts/smart_account_find.html", {"form": form, "results": results, "my_requests": pending})


@login_required
def smart_account_create(request: HttpRequest) -> HttpResponse:
    form = SmartAccountCreateForm(request.POST or None, initial={"domain": request.user.email_domain})
    if request.method == "POST" and form.is_valid():
        try:
            sa = run_service(form, services.smart_account_create, actor=request.user, **form.cleaned_data)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            sa = None
        if sa is not None:
            messages.success(request, f"Smart Account {sa.name} is active and you are its administrator.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/smart_account_create.html", {"form": form})


@login_required
def smart_account_request(request: HttpRequest) -> HttpResponse:
    if services.partner_of(request.user) is None and not request.user.is_staff:
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


def smart_account_activate(request: HttpRequest, token: str) -> HttpResponse:
    """The activation link's page: the named contact activates and may grant the partner a role."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    try:
        invitation = services.invitation_resolve(token=token, user=request.user)
    except ValidationError as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.messages[0]}, status=410)
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
def access_request_create(request: HttpRequest, pk: int) -> HttpResponse:
    # Any user may ask: the account was found by domain search (name, domain, status only).
    sa = get_object_or_404(SmartAccount, pk=pk, kind=SmartAccountKind.CUSTOMER)
    form = AccessRequestForm(request.POST or None, smart_account=sa)
    if request.method == "POST" and form.is_valid():
        vas = form.cleaned_data["virtual_accounts"] if form.cleaned_data["scope"] == "virtual_accounts" else []
        try:
            result = run_service(form, services.access_request_create, smart_account=sa, actor=request.user,
                                 message=form.cleaned_data["message"], virtual_accounts=vas)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            result = None
        if result is not None:
            messages.success(request, f"Your request was sent to the admins of {sa.name}. You'll get an email when they decide.")
            return redirect(f"{reverse('accounts:smart_account_find')}?domain={sa.domain}")
    return render(request, "accounts/access_request_create.html", {"form": form, "smart_account": sa})


# --- Virtual Accounts ---------------------------------------------------------------------


@login_required
def virtual_account_create(request: HttpRequest, pk: int) -> HttpResponse:
    sa = _smart_account(request, pk)
    parents = permissions.visible_virtual_accounts(request.user, STRUCTURE).filter(smart_account=sa)
    if not parents.exists():
        raise PermissionDenied("You may not create Virtual Accounts here.")
    form = VirtualAccountForm(request.POST or None, parents=parents, initial={"parent": request.GET.get("parent")})
    if request.method == "POST" and form.is_valid():
        va = run_service(form, services.virtual_account_create, actor=request.user, **form.cleaned_data)
        if va is not None:
            messages.success(request, f"Virtual Account {va.name} created under {va.parent.name}.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/virtual_account_form.html", {"form": form, "smart_account": sa, "creating": True})


@login_required
def virtual_account_edit(request: HttpRequest, va_pk: int) -> HttpResponse:
    va = _virtual_account(request, va_pk)
    if va.parent_id is None:
        raise PermissionDenied(f"The root Virtual Account {va.name} cannot be renamed or moved.")
    if not permissions.can_restructure(request.user, va):
        raise PermissionDenied("You may not change this Virtual Account.")
    sa = va.smart_account
    parents = (
        permissions.visible_virtual_accounts(request.user, STRUCTURE).filter(smart_account=sa)
        .exclude(tree_id=va.tree_id, lft__gte=va.lft, rght__lte=va.rght)
    )
    form = VirtualAccountForm(
        request.POST or None, parents=parents,
        initial={"name": va.name, "parent": va.parent_id, "description": va.description},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done = True
        if data["parent"].pk != va.parent_id:
            done = run_service(form, services.virtual_account_move, virtual_account=va, parent=data["parent"], actor=request.user) is not None
        if done and (data["name"] != va.name or data["description"] != va.description):
            va.refresh_from_db()
            done = run_service(form, services.virtual_account_rename, virtual_account=va, name=data["name"],
                               description=data["description"], actor=request.user) is not None
        if done:
            messages.success(request, f"Virtual Account {data['name']} saved.")
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/virtual_account_form.html", {"form": form, "smart_account": sa, "virtual_account": va})


@require_POST
@login_required
def virtual_account_delete(request: HttpRequest, va_pk: int) -> HttpResponse:
    va = _virtual_account(request, va_pk)
    try:
        services.virtual_account_delete(virtual_account=va, actor=request.user)
        messages.success(request, f"Virtual Account {va.name} deleted.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("portal:smart_account_detail", pk=va.smart_account_id)


@require_POST
@login_required
def virtual_account_set_default(request: HttpRequest, va_pk: int) -> HttpResponse:
    va = _virtual_account(request, va_pk)
    permissions.require(request.user, ADMINISTER, va.smart_account)
    services.smart_account_set_default_virtual_account(virtual_account=va, actor=request.user)
    messages.success(request, f"Order lines without a Virtual Account now land in {va.name}.")
    return redirect("portal:smart_account_detail", pk=va.smart_account_id)


# --- users, roles and access requests -------------------------------------------------------


@login_required
def smart_account_users(request: HttpRequest, pk: int) -> HttpResponse:
    sa = _smart_account(request, pk)
    user = request.user
    is_sa_admin = permissions.can(user, ADMINISTER, sa)
    managed_vas = permissions.visible_virtual_accounts(user, ADMINISTER).filter(smart_account=sa)
    if not is_sa_admin and not managed_vas.exists():
        raise PermissionDenied("Only account admins manage users and roles.")
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
    requests = (
        AccessRequest.objects.filter(smart_account=sa, status=AccessRequestStatus.PENDING)
        .select_related("requester").prefetch_related(Prefetch("requested_virtual_accounts"))
        if is_sa_admin else AccessRequest.objects.none()
    )
    grant_form = RoleGrantForm(virtual_accounts=managed_vas if not is_sa_admin else VirtualAccount.objects.filter(smart_account=sa),
                               sa_roles_allowed=is_sa_admin)
    context = {
        "smart_account": sa, "sa_roles": sa_roles, "va_roles": va_roles,
        "requests": requests, "grant_form": grant_form, "is_sa_admin": is_sa_admin,
        "approve_form": AccessRequestApproveForm(smart_account=sa), "deny_form": AccessRequestDenyForm(),
    }
    return render(request, "accounts/smart_account_users.html", context)


@require_POST
@login_required
def role_grant(request: HttpRequest, pk: int) -> HttpResponse:
    sa = _smart_account(request, pk)
    vas = VirtualAccount.objects.filter(smart_account=sa)
    form = RoleGrantForm(request.POST, virtual_accounts=vas, sa_roles_allowed=True)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = run_service(form, services.role_grant, smart_account=sa, email=data["user_email"], role=data["role"],
                              virtual_account=data["virtual_account"], actor=request.user)
        except PermissionDenied as exc:
            raise PermissionDenied(str(exc))
        if row is not None:
            messages.success(request, f"{row.user.email} is now {row.permission.name}.")
            return redirect("accounts:smart_account_users", pk=sa.pk)
    for field, errors in form.errors.items():
        messages.error(request, f"{form.fields[field].label if field in form.fields else ''} {' '.join(errors)}".strip())
    return redirect("accounts:smart_account_users", pk=sa.pk)


@require_POST
@login_required
def role_revoke(request: HttpRequest, role_id) -> HttpResponse:
    row = services.role_get(role_id)
    if row is None:
        raise Http404("No such role.")
    sa = row.content_object if isinstance(row, SmartAccountRole) else row.content_object.smart_account
    _smart_account(request, sa.pk)  # 404 for outsiders
    try:
        services.role_revoke(role=row, actor=request.user)
        messages.success(request, f"{row.user.email} no longer has the role {row.permission.name}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:smart_account_users", pk=sa.pk)


def _access_request(request: HttpRequest, request_id: int) -> AccessRequest:
    access_request = get_object_or_404(AccessRequest.objects.select_related("smart_account", "requester"), pk=request_id)
    _smart_account(request, access_request.smart_account_id)
    permissions.require(request.user, ADMINISTER, access_request.smart_account)
    return access_request


@require_POST
@login_required
def access_request_approve(request: HttpRequest, request_id: int) -> HttpResponse:
    access_request = _access_request(request, request_id)
    form = AccessRequestApproveForm(request.POST, smart_account=access_request.smart_account)
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
