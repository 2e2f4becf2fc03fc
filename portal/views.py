"""Portal-wide pages, wiring the apps together: the dashboard, a Smart Account's home (its
tree with license and device counts), and the landing page of emailed links."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from accounts import permissions, selectors as account_selectors
from accounts.models import Invitation, InvitationPurpose, Role, SmartAccount, SmartAccountKind
from accounts.permissions import ADMINISTER, HOLD, OPERATE, VIEW
from accounts.views import invitation_page
from lib.ids import id_from_text
from licensing import selectors as licensing_selectors
from licensing.models import Shortage
from licensing.views import ScopeUrls
from orders import selectors as order_selectors

from . import selectors

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
    detailed = customers[:DASHBOARD_DETAILED_ACCOUNTS]
    # Where the user may act (tokens, transfers): one query for the accounts shown in detail.
    operates_in = set(
        permissions.visible_virtual_accounts(user, OPERATE).filter(smart_account__in=[sa.pk for sa in detailed])
        .order_by().values_list("smart_account_id", flat=True).distinct()
    ) if detailed else set()
    panels = [
        {
            "smart_account": sa,
            "compliance": row,
            "data": licensing_selectors.compliance_dashboard(
                sa, licensing_selectors.virtual_accounts_in_scope(user, smart_account=sa), user=user,
            ),
            "urls": ScopeUrls(sa_pk=sa.pk),
            "can_operate": sa.pk in operates_in,
        }
        for sa, row in zip(detailed, compliance)
    ]
    partner = account_selectors.partner_of(user)
    context = {
        "compliance": compliance,
        "more_accounts": len(customers) > DASHBOARD_LISTED_ACCOUNTS,
        "panels": panels,
        "partner": partner,
        "held_lines": order_selectors.held_lines_for(user).count() if partner is not None else 0,
        "delegated_lines": order_selectors.delegated_lines_for(user).count(),
    }
    return render(request, "portal/dashboard.html", context)


def _account(request: HttpRequest, pk: int) -> SmartAccount:
    """The Smart Account of a tree page, if the user may see it (404 otherwise)."""
    return permissions.get_or_404(
        request.user, SmartAccount.objects.select_related("partner", "contact", "default_virtual_account"), VIEW, pk=pk
    )


@login_required
def smart_account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The account home: the top of the Virtual Account tree (deeper levels load on demand),
    with a VA named by `?open=` shown and marked (the search's results link here)."""
    user = request.user
    sa = _account(request, pk)
    rights = permissions.TreeRights(user, sa)
    nodes, opened = selectors.account_tree_top(rights, open_pk=id_from_text(request.GET.get("open", "")))
    is_sa_admin = rights.whole_account(ADMINISTER)
    context = {
        "smart_account": sa,
        "nodes": nodes,
        "opened": opened,
        "is_sa_admin": is_sa_admin,
        # PAKs are the account's as a whole: an SA role (or staff) sees them, a VA role does not.
        "sees_account_wide": rights.whole_account(VIEW),
        "can_manage_users": is_sa_admin or bool(rights.subtrees(ADMINISTER)),
        "can_operate": rights.whole_account(OPERATE) if not sa.is_holding else False,
        # Tokens: for whoever may operate somewhere in the account (users up), as on their pages.
        "operates_somewhere": not sa.is_holding and rights.subtrees(OPERATE) != [],
        "can_hold": sa.is_holding and permissions.can(user, HOLD, sa),
        "roles": [(Role(role).label, va) for role, va in rights.roles],
    }
    if not sa.is_holding:
        # Compliance: the products in shortage in the Virtual Accounts the user may see (all of
        # them with an account-wide role: no check per VA then).
        scope = licensing_selectors.virtual_accounts_in_scope(
            None if rights.whole_account(VIEW) else user, smart_account=sa
        )
        context["shortage_products"] = (
            licensing_selectors.open_shortages(scope).order_by().values("product_id").distinct().count()
        )
    return render(request, "portal/smart_account_detail.html", context)


@require_GET
@login_required
def virtual_account_children(request: HttpRequest, pk: int, va_pk: int) -> HttpResponse:
    """The rows of a Virtual Account's children, for the tree's expand control (htmx)."""
    rights = permissions.TreeRights(request.user, _account(request, pk))
    nodes = selectors.virtual_account_children(rights, va_pk) if id_from_text(va_pk) else None
    if nodes is None:
        raise Http404("No Virtual Account found.")
    context = {"smart_account": rights.smart_account, "nodes": nodes, "is_sa_admin": rights.whole_account(ADMINISTER)}
    return render(request, "portal/_virtual_account_rows.html", context)


@require_GET
@login_required
def virtual_account_search(request: HttpRequest, pk: int) -> HttpResponse:
    """Virtual Accounts of the tree by part of their name, each linking to the tree opened
    down to it (htmx, the search box of the account home)."""
    sa = _account(request, pk)
    query = request.GET.get("q", "").strip()[:100]
    hits, more = selectors.virtual_account_search(request.user, sa, query) if query else ([], False)
    return render(request, "portal/_virtual_account_search.html",
                  {"smart_account": sa, "query": query, "hits": hits, "more": more})


# The page of each purpose of emailed link (each takes its own purpose only).
INVITATION_PAGES = {
    InvitationPurpose.ACTIVATE_ACCOUNT: "accounts:smart_account_activate",
    InvitationPurpose.ASSIGN_ORDER_LINE: "orders:delegated_line_assign",
    InvitationPurpose.JOIN_PARTNER: "accounts:partner_invitation_respond",
}


@invitation_page(None)
def invitation_landing(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """Emailed links land here and go on to the page for their purpose."""
    return redirect(INVITATION_PAGES[invitation.purpose], token=token)
