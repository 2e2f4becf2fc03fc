"""Portal-wide pages, wiring the apps together: the dashboard, a Smart Account's home (its
tree with license and device counts), and the landing page of emailed links."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import permissions, services as account_services
from accounts.models import InvitationPurpose, Role, SmartAccount, SmartAccountKind
from accounts.permissions import ADMINISTER, HOLD, OPERATE, STRUCTURE, VIEW
from licensing import selectors as licensing_selectors
from licensing.models import Shortage
from licensing.views import ScopeUrls
from orders import selectors as order_selectors

from .selectors import virtual_account_tree

# The dashboard details this many customer accounts (chart and lists; those in shortage first)
# and lists the compliance of this many.
DASHBOARD_DETAILED_ACCOUNTS = 3
DASHBOARD_LISTED_ACCOUNTS = 10


def _customer_accounts_by_urgency(user):
    """The user's customer accounts, those with a product in shortage (in what they see) first."""
    short = Shortage.objects.filter(
        virtual_account__smart_account=OuterRef("pk"), cleared_at__isnull=True,
        virtual_account__in=permissions.visible_virtual_accounts(user).values("pk"),
    )
    return (
        permissions.visible(user, SmartAccount).filter(kind=SmartAccountKind.CUSTOMER)
        .annotate(has_shortage=Exists(short)).order_by("-has_shortage", "name", "pk")
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Compliance at a glance for the customer accounts the user sees (the first few in detail,
    with a usage chart), and a partner's waiting work."""
    user = request.user
    customers = list(_customer_accounts_by_urgency(user)[: DASHBOARD_LISTED_ACCOUNTS + 1])
    compliance = licensing_selectors.accounts_compliance(user, customers[:DASHBOARD_LISTED_ACCOUNTS])
    panels = [
        {
            "smart_account": sa,
            "compliance": row,
            "data": licensing_selectors.compliance_dashboard(
                sa, licensing_selectors.virtual_accounts_in_scope(user, smart_account=sa), user=user,
            ),
            "urls": ScopeUrls(sa_pk=sa.pk),
        }
        for sa, row in zip(customers[:DASHBOARD_DETAILED_ACCOUNTS], compliance)
    ]
    partner = account_services.partner_of(user)
    context = {
        "compliance": compliance,
        "more_accounts": len(customers) > DASHBOARD_LISTED_ACCOUNTS,
        "panels": panels,
        "partner": partner,
        "held_lines": order_selectors.held_lines_for(user).count() if partner is not None else 0,
        "delegated_lines": order_selectors.delegated_lines_for(user).count(),
    }
    return render(request, "portal/dashboard.html", context)


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
    if not sa.is_holding:
        # Compliance: the open shortages of the Virtual Accounts the user may see, per VA.
        short_vas = licensing_selectors.open_shortages(
            licensing_selectors.virtual_accounts_in_scope(user, smart_account=sa)
        ).values_list("virtual_account_id", "product_id")
        short_vas = list(short_vas)
        short_by_va: dict[int, int] = {}
        for va_id, _ in short_vas:
            short_by_va[va_id] = short_by_va.get(va_id, 0) + 1
        for node in nodes:
            node.shortage_products = short_by_va.get(node.va.pk, 0)
        context["shortage_products"] = len({product_id for _, product_id in short_vas})
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
