"""Portal-wide pages, wiring the apps together: the dashboard, a Smart Account's home (its
tree with license and device counts), and the landing page of emailed links."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import permissions, services as account_services
from accounts.models import InvitationPurpose, Role, SmartAccount
from accounts.permissions import ADMINISTER, HOLD, OPERATE, STRUCTURE, VIEW

from .selectors import virtual_account_tree


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    accounts = permissions.visible(request.user, SmartAccount).order_by("kind", "name")[:20]
    return render(request, "portal/dashboard.html", {"accounts": accounts})


@login_required
def smart_account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sa = permissions.get_or_404(request.user, SmartAccount.objects.select_related("partner", "contact"), VIEW, pk=pk)
    user = request.user
    nodes = virtual_account_tree(user, sa)
    structure_ids = set(permissions.visible_virtual_accounts(user, STRUCTURE).filter(smart_account=sa).values_list("pk", flat=True))
    restructure_ids = set(
        permissions.visible_virtual_accounts(user, STRUCTURE, strictly_below=True).filter(smart_account=sa).values_list("pk", flat=True)
    )
    is_sa_admin = permissions.can(user, ADMINISTER, sa)
    for node in nodes:
        node.can_create_child = node.va.pk in structure_ids
        node.can_restructure = node.va.parent_id is not None and (is_sa_admin or node.va.pk in restructure_ids)
    context = {
        "smart_account": sa,
        "nodes": nodes,
        "is_sa_admin": is_sa_admin,
        "can_manage_users": is_sa_admin or permissions.visible_virtual_accounts(user, ADMINISTER).filter(smart_account=sa).exists(),
        "can_operate": permissions.can(user, OPERATE, sa) if not sa.is_holding else False,
        "can_hold": sa.is_holding and permissions.can(user, HOLD, sa),
        "roles": [(Role(role).label, va) for role, va in permissions.roles_of(user, sa)],
    }
    return render(request, "portal/smart_account_detail.html", context)


def invitation_landing(request: HttpRequest, token: str) -> HttpResponse:
    """Emailed links land here and go on to the page for their purpose."""
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?next={request.path}")
    try:
        invitation = account_services.invitation_resolve(token=token, user=request.user)
    except ValidationError as exc:
        return render(request, "accounts/invitation_invalid.html", {"message": exc.messages[0]}, status=410)
    if invitation.purpose == InvitationPurpose.ACTIVATE_ACCOUNT:
        return redirect("accounts:smart_account_activate", token=token)
    return redirect("orders:delegated_line_assign", token=token)
