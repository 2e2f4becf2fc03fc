"""Pages of the accounts app: find, create and request Smart Accounts, activate them, organise
Virtual Accounts, and manage users, roles and access requests; the partner pages (members,
holding accounts, customers managed), help, privacy, support cases and API keys. Each view
binds a form, calls one service and redirects; who may do what is asked of accounts.permissions."""
from __future__ import annotations

import json
from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lib.forms import run_service

from . import permissions, selectors, services
from .forms import (
    AccessRequestApproveForm,
    AccessRequestDenyForm,
    AccessRequestForm,
    AccountCloseForm,
    ActivationForm,
    ApiKeyCreateForm,
    DomainSearchForm,
    HoldingAccountCreateForm,
    HoldingMemberAddForm,
    HoldingMemberNotifyForm,
    PartnerInvitationResponseForm,
    PartnerMemberInviteForm,
    RoleGrantForm,
    SmartAccountCreateForm,
    SmartAccountRequestForm,
    SupportCaseForm,
    SupportReplyForm,
    VirtualAccountForm,
)
from .models import (
    AccessRequest,
    AccessRequestStatus,
    ApiKey,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerMembership,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    SupportCase,
    SupportCaseStatus,
    VirtualAccount,
    VirtualAccountRole,
    normalise_domain,
)
from .permissions import ADMINISTER, STRUCTURE, VIEW


def _smart_account(request: HttpRequest, pk: int, capability=VIEW) -> SmartAccount:
    return permissions.get_or_404(request.user, SmartAccount.objects.all(), capability, pk=pk)


def _virtual_account(request: HttpRequest, pk: int, capability=VIEW) -> VirtualAccount:
    return permissions.get_or_404(request.user, VirtualAccount.objects.select_related("smart_account", "parent"), capability, pk=pk)


def _tree_open_at(va: VirtualAccount) -> str:
    """The account home with its tree opened down to `va` (deeper levels load on demand)."""
    return f"{reverse('portal:smart_account_detail', args=[va.smart_account_id])}?open={va.pk}#va-{va.pk}"


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
            if sa.status != SmartAccountStatus.NEW:
                sa.request_reference = selectors.search_reference(smart_account=sa, user=request.user)
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
            # e.g. back to a delegated order line that waited for this account.
            next_url = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
                return redirect(next_url)
            return redirect("portal:smart_account_detail", pk=sa.pk)
    return render(request, "accounts/smart_account_create.html", {"form": form})


@login_required
def smart_account_request(request: HttpRequest) -> HttpResponse:
    if not (permissions.is_partner_user(request.user) or permissions.is_staff(request.user)):
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


def invitation_page(purpose: str | None):
    """A page of an emailed link (`<token>` in its URL): the view gets the link's invitation of
    `purpose` (None: of any) once its addressee is signed in (anyone else signs in first). Every
    other link, one of another purpose included, gets the same answer whatever the page: invalid
    or expired, or already used (410), or someone else's (403). Nothing of it is shown."""
    def decorate(view):
        @wraps(view)
        def page(request: HttpRequest, token: str) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
            try:
                invitation = selectors.invitation_from_link(token=token, purpose=purpose, user=request.user)
            except ValidationError as exc:
                return render(request, "accounts/invitation_invalid.html", {"message": exc.messages[0]}, status=410)
            except PermissionDenied as exc:
                return render(request, "accounts/invitation_invalid.html", {"message": str(exc)}, status=403)
            return view(request, invitation=invitation, token=token)
        return page
    return decorate


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
        try:
            result = run_service(form, services.access_request_create, smart_account=sa, actor=request.user,
                                 message=form.cleaned_data["message"], scope_wanted=form.cleaned_data["scope_wanted"])
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
        raise permissions.refusal(request.user, "You may not create Virtual Accounts here.")
    form = VirtualAccountForm(request.POST or None, parents=parents, initial={"parent": request.GET.get("parent")})
    if request.method == "POST" and form.is_valid():
        va = run_service(form, services.virtual_account_create, actor=request.user, **form.cleaned_data)
        if va is not None:
            messages.success(request, f"Virtual Account {va.name} created under {va.parent.name}.")
            return redirect(_tree_open_at(va))
    return render(request, "accounts/virtual_account_form.html", {"form": form, "smart_account": sa, "creating": True})


@login_required
def virtual_account_edit(request: HttpRequest, va_pk: int) -> HttpResponse:
    va = _virtual_account(request, va_pk)
    if va.parent_id is None:
        raise PermissionDenied(f"The root Virtual Account {va.name} cannot be renamed or moved.")
    if not permissions.can_restructure(request.user, va):
        raise permissions.refusal(request.user, "You may not change this Virtual Account.")
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
            return redirect(_tree_open_at(va))
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
    if isinstance(row, SmartAccountRole):
        sa = _smart_account(request, row.content_object_id)  # 404 for outsiders
    else:
        # A VA role lives in its Virtual Account: 404 unless the user sees that VA (DESIGN.md §3).
        sa = _virtual_account(request, row.content_object_id).smart_account
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


# --- partner pages (/partner/): the organisation, its holding accounts, customers managed ------


def _partner_or_404(request: HttpRequest) -> Partner:
    """The signed-in user's partner organisation: partner pages act on it and nothing else."""
    partner = services.partner_of(request.user)
    if partner is None:
        raise Http404("You are not a member of a partner organisation.")
    return partner


def _not_a_partner(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/partner_none.html")


def _render_partner_detail(request: HttpRequest, partner: Partner, *,
                           invite_form: PartnerMemberInviteForm | None = None) -> HttpResponse:
    members = list(PartnerMembership.objects.filter(partner=partner).select_related("user").order_by("-is_admin", "user__email"))
    is_partner_admin = permissions.can_manage_partner(request.user, partner)
    context = {
        "partner": partner,
        "tab": "organisation",
        "members": members,
        "admin_count": sum(1 for m in members if m.is_admin),
        "is_partner_admin": is_partner_admin,
        "invitations": list(services.partner_invitations_pending(partner=partner)) if is_partner_admin else [],
        "linked_resellers": list(partner.linked_resellers.order_by("name")),
        "distributors": list(partner.distributors.order_by("name")),
        "invite_form": invite_form or PartnerMemberInviteForm(),
        "invitation_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    return render(request, "accounts/partner_detail.html", context)


@login_required
def partner_detail(request: HttpRequest) -> HttpResponse:
    partner = services.partner_of(request.user)
    if partner is None:
        return _not_a_partner(request)
    return _render_partner_detail(request, partner)


@require_POST
@login_required
def partner_member_invite(request: HttpRequest) -> HttpResponse:
    """Invite a colleague by email: they join when they accept the emailed link. The answer is
    the same whoever the address belongs to."""
    partner = _partner_or_404(request)
    if not permissions.can_manage_partner(request.user, partner):
        raise permissions.refusal(request.user, "Only a partner admin may invite members.")
    form = PartnerMemberInviteForm(request.POST)
    if form.is_valid():
        invitation = run_service(form, services.partner_member_invite, partner=partner, actor=request.user,
                                 email=form.cleaned_data["email"], is_admin=form.cleaned_data["is_admin"])
        if invitation is not None:
            messages.success(request, f"We emailed an invitation to {invitation.email}. They join {partner.name} "
                                      f"when they accept it (the link expires on {invitation.expires_at:%Y-%m-%d}).")
            return redirect("partner:partner_detail")
    return _render_partner_detail(request, partner, invite_form=form)


@require_POST
@login_required
def partner_invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    partner = _partner_or_404(request)
    invitation = get_object_or_404(services.partner_invitations_pending(partner=partner), pk=pk)
    services.partner_invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation of {invitation.email} was withdrawn.")
    return redirect("partner:partner_detail")


@require_http_methods(["GET", "POST"])
@invitation_page(InvitationPurpose.JOIN_PARTNER)
def partner_invitation_respond(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """The emailed link of a partner invitation (via /invite/<token>/): its addressee, signed in,
    sees the partner and the role offered, and accepts or declines. Once."""
    partner = invitation.partner
    form = PartnerInvitationResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        accepting = form.cleaned_data["decision"] == "accept"
        try:
            done = run_service(form, services.partner_invitation_accept if accepting else services.partner_invitation_decline,
                               token=token, actor=request.user)
        except PermissionDenied as exc:  # their address is not verified yet
            form.add_error(None, str(exc))
            done = None
        if done is not None and accepting:
            role = "a partner admin" if done.is_admin else "a member"
            messages.success(request, f"You joined {partner.name} as {role}.")
            return redirect("partner:partner_detail")
        if done is not None:
            messages.info(request, f"You declined the invitation to join {partner.name}.")
            return redirect("portal:dashboard")
    context = {"invitation": invitation, "partner": partner, "form": form,
               "current_partner": services.partner_of(request.user)}
    return render(request, "accounts/partner_invitation_respond.html", context)


def _partner_membership(request: HttpRequest, pk: int) -> PartnerMembership:
    partner = _partner_or_404(request)
    return get_object_or_404(PartnerMembership.objects.select_related("user", "partner"), pk=pk, partner=partner)


@require_POST
@login_required
def partner_member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _partner_membership(request, pk)
    try:
        services.partner_member_remove(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("partner:partner_detail")
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {membership.partner.name}.")
        return redirect("portal:dashboard")
    messages.success(
        request, f"{membership.user.email} no longer belongs to {membership.partner.name}; "
                 "their holding-account memberships ended with it."
    )
    return redirect("partner:partner_detail")


@require_POST
@login_required
def partner_member_set_admin(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _partner_membership(request, pk)
    make_admin = request.POST.get("is_admin") in ("1", "true", "on")
    try:
        services.partner_member_set_admin(membership=membership, is_admin=make_admin, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if make_admin:
            messages.success(request, f"{membership.user.email} is now a partner admin.")
        else:
            messages.success(request, f"{membership.user.email} is no longer a partner admin.")
    return redirect("partner:partner_detail")


def _render_holding_accounts(
    request: HttpRequest, partner: Partner, *,
    create_form: HoldingAccountCreateForm | None = None, add_forms: dict | None = None,
) -> HttpResponse:
    members = HoldingMembership.objects.select_related("user").order_by("user__email")
    accounts = list(
        SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, partner=partner)
        .prefetch_related(Prefetch("holding_memberships", queryset=members)).order_by("name")
    )
    add_forms = add_forms or {}
    for sa in accounts:
        sa.members = list(sa.holding_memberships.all())
        sa.my_membership = next((m for m in sa.members if m.user_id == request.user.pk), None)
        sa.add_form = add_forms.get(sa.pk) or HoldingMemberAddForm(prefix=f"h{sa.pk}")
        sa.add_form.fields["email"].widget.attrs["list"] = "partner-member-emails"
    context = {
        "partner": partner,
        "tab": "holding",
        "accounts": accounts,
        "is_partner_admin": permissions.can_manage_partner(request.user, partner),
        "partner_member_emails": PartnerMembership.objects.filter(partner=partner)
        .order_by("user__email").values_list("user__email", flat=True),
        "create_form": create_form or HoldingAccountCreateForm(),
    }
    return render(request, "accounts/holding_account_list.html", context)


@login_required
def holding_account_list(request: HttpRequest) -> HttpResponse:
    partner = services.partner_of(request.user)
    if partner is None:
        return _not_a_partner(request)
    return _render_holding_accounts(request, partner)


@require_POST
@login_required
def holding_account_create(request: HttpRequest) -> HttpResponse:
    partner = _partner_or_404(request)
    form = HoldingAccountCreateForm(request.POST)
    if form.is_valid():
        sa = run_service(form, services.holding_account_create, name=form.cleaned_data["name"], partner=partner,
                         actor=request.user)
        if sa is not None:
            messages.success(request, f"Holding account {sa.name} created. You are its first member and get its order emails.")
            return redirect("partner:holding_account_list")
    return _render_holding_accounts(request, partner, create_form=form)


def _holding_account(request: HttpRequest, pk: int) -> SmartAccount:
    return get_object_or_404(permissions.partner_holding_accounts(request.user).select_related("partner"), pk=pk)


def _holding_membership(request: HttpRequest, pk: int) -> HoldingMembership:
    memberships = HoldingMembership.objects.select_related("user", "smart_account__partner").filter(
        smart_account__in=permissions.partner_holding_accounts(request.user)
    )
    return get_object_or_404(memberships, pk=pk)


@require_POST
@login_required
def holding_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Join a holding account (own email) or, as a partner admin, add a colleague to it."""
    sa = _holding_account(request, pk)
    form = HoldingMemberAddForm(request.POST, prefix=f"h{sa.pk}")
    if form.is_valid():
        membership = run_service(form, services.holding_member_add, smart_account=sa, actor=request.user,
                                 email=form.cleaned_data["email"], notify=form.cleaned_data["notify"])
        if membership is not None:
            emails = " You get an email when orders arrive here." if membership.notify else ""
            if membership.user_id == request.user.pk:
                messages.success(request, f"You joined {sa.name}.{emails}")
            else:
                messages.success(request, f"{membership.user.email} is now a member of {sa.name}.")
            return redirect("partner:holding_account_list")
    return _render_holding_accounts(request, sa.partner, add_forms={sa.pk: form})


@require_POST
@login_required
def holding_member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Leave a holding account, or (partner admins) take a colleague out of it."""
    membership = _holding_membership(request, pk)
    sa = membership.smart_account
    services.holding_member_remove(membership=membership, actor=request.user)
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {sa.name}. You no longer see its orders or get its emails.")
    else:
        messages.success(request, f"{membership.user.email} is no longer a member of {sa.name}.")
    return redirect("partner:holding_account_list")


@require_POST
@login_required
def holding_member_notify(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose whether a holding-account member is emailed about its orders."""
    membership = _holding_membership(request, pk)
    form = HoldingMemberNotifyForm(request.POST)
    form.is_valid()  # a missing box means "no"
    notify = bool(form.cleaned_data.get("notify"))
    sa = membership.smart_account
    try:
        services.holding_member_add(smart_account=sa, email=membership.user.email, notify=notify, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("partner:holding_account_list")
    who = "You" if membership.user_id == request.user.pk else membership.user.email
    if notify:
        messages.success(request, f"{who} will get an email when orders arrive in {sa.name}.")
    else:
        messages.success(request, f"{who} will no longer get emails about orders in {sa.name}.")
    return redirect("partner:holding_account_list")


@login_required
def partner_customer_list(request: HttpRequest) -> HttpResponse:
    """Customers I manage: the roles the partner's users hold in customer Smart Accounts."""
    partner = services.partner_of(request.user)
    if partner is None:
        return _not_a_partner(request)
    roles = selectors.partner_customer_roles(partner=partner)
    account_ids = {row.smart_account.pk for row in roles}
    openable = set(permissions.visible(request.user, SmartAccount).filter(pk__in=account_ids).values_list("pk", flat=True))
    context = {
        "partner": partner,
        "tab": "customers",
        "roles": roles,
        "account_count": len(account_ids),
        "openable_ids": openable,
    }
    return render(request, "accounts/partner_customer_list.html", context)


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
        return redirect("portal:privacy_closed")
    context = {"form": form, "sole_admin_accounts": selectors.sole_admin_accounts(user=request.user),
               "sole_partner_admin_of": selectors.sole_partner_admin_of(user=request.user)}
    return render(request, "accounts/privacy_close.html", context)


@require_GET
def privacy_closed(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/privacy_closed.html")


# --- support cases (staff answer in the admin) --------------------------------------------------


@login_required
def support_case_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/support_case_list.html", {"cases": selectors.support_cases_of(user=request.user)})


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
            return redirect("portal:support_case_detail", pk=case.pk)
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
            return redirect("portal:support_case_detail", pk=case.pk)
    return _render_support_case(request, case, form=form)


@require_POST
@login_required
def support_case_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    case = _support_case(request, pk)
    services.support_case_set_status(case=case, status=SupportCaseStatus.RESOLVED, actor=request.user)
    messages.success(request, f"Case #{case.pk} is resolved. Reply to it any time to open it again.")
    return redirect("portal:support_case_detail", pk=case.pk)


# --- profile: API keys -------------------------------------------------------------------------

# The raw key of a key just created waits here for exactly one page render, then is gone.
NEW_API_KEY_SESSION_KEY = "accounts.new_api_key"


def _render_api_keys(request: HttpRequest, *, form: ApiKeyCreateForm | None = None) -> HttpResponse:
    keys = list(ApiKey.objects.filter(user=request.user).order_by("-created_at", "-pk"))
    bulk_revocations = [k for k in keys if k.revoked_at and k.revoked_reason in services.CREDENTIALS_REVOKED_BECAUSE.values()]
    latest = max(bulk_revocations, key=lambda k: k.revoked_at, default=None)
    if latest and any(k.created_at > latest.revoked_at for k in keys):
        latest = None  # said until the user makes a new key
    context = {
        "keys": keys,
        "form": form or ApiKeyCreateForm(),
        "new_key": request.session.pop(NEW_API_KEY_SESSION_KEY, None),
        "now": timezone.now(),
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
            return redirect("portal:api_key_list")
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
    return redirect("portal:api_key_list")
