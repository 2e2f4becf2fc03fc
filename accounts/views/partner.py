"""The partner pages (/partner/): the user's partner organisation, its members and the
invitations to join it, its holding accounts, and the customers it manages."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST

from lib.forms import run_service
from lib.tables import table_configure, table_csv_response, wants_csv

from .. import permissions, selectors, services
from ..forms import (
    HoldingAccountCreateForm,
    HoldingMemberAddForm,
    HoldingMemberNotifyForm,
    PartnerInvitationResponseForm,
    PartnerMemberInviteForm,
)
from ..models import (
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerMembership,
    SmartAccount,
    SmartAccountKind,
)
from ..tables import HoldingMemberTable, PartnerCustomerTable, PartnerMemberTable
from .invitations import invitation_page


def _partner_or_404(request: HttpRequest) -> Partner:
    """The signed-in user's partner organisation: partner pages act on it and nothing else."""
    partner = selectors.partner_of(request.user)
    if partner is None:
        raise Http404("You are not a member of a partner organisation.")
    return partner


def _not_a_partner(request: HttpRequest) -> HttpResponse:
    # Staff are pointed to the admin, where partner organisations are managed.
    return render(request, "accounts/partner_none.html", {"is_vendor_staff": permissions.is_staff(request.user)})


def _render_partner_detail(request: HttpRequest, partner: Partner, *,
                           invite_form: PartnerMemberInviteForm | None = None) -> HttpResponse:
    members = list(PartnerMembership.objects.filter(partner=partner).select_related("user").order_by("-is_admin", "user__email"))
    is_partner_admin = permissions.can_manage_partner(request.user, partner)
    context = {
        "partner": partner,
        "tab": "organisation",
        "members": members,
        "members_table": table_configure(
            request, PartnerMemberTable(members, exclude=() if is_partner_admin else ("actions",))
        ),
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
    partner = selectors.partner_of(request.user)
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
            return redirect("accounts:partner_detail")
    return _render_partner_detail(request, partner, invite_form=form)


@require_POST
@login_required
def partner_invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    partner = _partner_or_404(request)
    invitation = get_object_or_404(services.partner_invitations_pending(partner=partner), pk=pk)
    services.partner_invitation_revoke(invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation of {invitation.email} was withdrawn.")
    return redirect("accounts:partner_detail")


@require_http_methods(["GET", "POST"])
@invitation_page(InvitationPurpose.JOIN_PARTNER)
def partner_invitation_respond(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """The emailed link of a partner invitation (via /invite/<token>/): its addressee, signed in,
    sees the partner and the role offered, and accepts or declines. Once."""
    partner = invitation.partner
    form = PartnerInvitationResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        accepting = form.cleaned_data["decision"] == "accept"
        # refusal_on_form: their address is not verified yet.
        done = run_service(form, services.partner_invitation_accept if accepting else services.partner_invitation_decline,
                           refusal_on_form=True, token=token, actor=request.user)
        if done is not None and accepting:
            role = "a partner admin" if done.is_admin else "a member"
            messages.success(request, f"You joined {partner.name} as {role}.")
            return redirect("accounts:partner_detail")
        if done is not None:
            messages.info(request, f"You declined the invitation to join {partner.name}.")
            return redirect("portal:dashboard")
    context = {"invitation": invitation, "partner": partner, "form": form,
               "current_partner": selectors.partner_of(request.user)}
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
        return redirect("accounts:partner_detail")
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {membership.partner.name}.")
        return redirect("portal:dashboard")
    messages.success(
        request, f"{membership.user.email} no longer belongs to {membership.partner.name}; "
                 "their holding-account memberships ended with it."
    )
    return redirect("accounts:partner_detail")


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
    return redirect("accounts:partner_detail")


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
    is_partner_admin = permissions.can_manage_partner(request.user, partner)
    # Every account's members sorted as a whole (`?sort=`, in memory), then back in their
    # accounts (a stable sort): one table per account, and the CSV of them all in that order.
    position = {sa.pk: i for i, sa in enumerate(accounts)}
    everyone = HoldingMemberTable([m for sa in accounts for m in sa.holding_memberships.all()])
    table_configure(request, everyone)
    members = sorted((row.record for row in everyone.rows), key=lambda m: position[m.smart_account_id])
    if wants_csv(request) and request.method == "GET":
        csv_table = HoldingMemberTable(members, sorted_by=everyone.order_by)
        return table_csv_response(csv_table, f"{slugify(partner.name) or 'partner'}-holding-members-"
                                             f"{timezone.localdate().isoformat()}.csv")
    exclude = () if is_partner_admin else ("actions",)
    for sa in accounts:
        sa.members = [m for m in members if m.smart_account_id == sa.pk]
        sa.members_table = HoldingMemberTable(sa.members, sorted_by=everyone.order_by, exclude=exclude,
                                              caption=f"Members of {sa.name}")
        sa.my_membership = next((m for m in sa.members if m.user_id == request.user.pk), None)
        sa.add_form = add_forms.get(sa.pk) or HoldingMemberAddForm(prefix=f"h{sa.pk}")
        sa.add_form.fields["email"].widget.attrs["list"] = "partner-member-emails"
    context = {
        "partner": partner,
        "tab": "holding",
        "accounts": accounts,
        "is_partner_admin": is_partner_admin,
        "partner_member_emails": PartnerMembership.objects.filter(partner=partner)
        .order_by("user__email").values_list("user__email", flat=True),
        "create_form": create_form or HoldingAccountCreateForm(),
        "has_members": bool(members),
    }
    return render(request, "accounts/holding_account_list.html", context)


@login_required
def holding_account_list(request: HttpRequest) -> HttpResponse:
    partner = selectors.partner_of(request.user)
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
            return redirect("accounts:holding_account_list")
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
            return redirect("accounts:holding_account_list")
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
    return redirect("accounts:holding_account_list")


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
        return redirect("accounts:holding_account_list")
    who = "You" if membership.user_id == request.user.pk else membership.user.email
    if notify:
        messages.success(request, f"{who} will get an email when orders arrive in {sa.name}.")
    else:
        messages.success(request, f"{who} will no longer get emails about orders in {sa.name}.")
    return redirect("accounts:holding_account_list")


@login_required
def partner_customer_list(request: HttpRequest) -> HttpResponse:
    """Customers I manage: the roles the partner's users hold in customer Smart Accounts."""
    partner = selectors.partner_of(request.user)
    if partner is None:
        return _not_a_partner(request)
    roles = selectors.partner_customer_roles(partner=partner)
    account_ids = {row.smart_account.pk for row in roles}
    openable = set(permissions.visible(request.user, SmartAccount).filter(pk__in=account_ids).values_list("pk", flat=True))
    table = table_configure(request, PartnerCustomerTable(roles))
    if wants_csv(request):
        return table_csv_response(table, f"{slugify(partner.name) or 'partner'}-customers-{timezone.localdate().isoformat()}.csv")
    context = {
        "partner": partner,
        "tab": "customers",
        "roles": roles,
        "table": table,
        "account_count": len(account_ids),
        "openable_ids": openable,
    }
    return render(request, "accounts/partner_customer_list.html", context)
