"""The scope of a licensing page: a whole Smart Account, or a Virtual Account and its subtree
(what the user may see of it), its tabs and URLs; and what every licensing page shares
(paging, the `next` target, export file names)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import permissions
from accounts.models import SmartAccount, SmartAccountKind, User, VirtualAccount
from accounts.permissions import ADMINISTER, OPERATE, VIEW

from .. import selectors


PER_PAGE = 25


class ScopeUrls:
    """`urls.device_list` in templates: the page of that name for a Virtual Account's subtree
    (`va_pk`) or a whole account (pages that exist only account-wide fall back to it)."""

    def __init__(self, *, sa_pk: int, va_pk: int | None = None) -> None:
        self.sa_pk, self.va_pk = sa_pk, va_pk

    def __getitem__(self, name: str) -> str:
        if self.va_pk is not None:
            try:
                return reverse(f"licensing:{name}", kwargs={"va_pk": self.va_pk})
            except NoReverseMatch:
                pass
        return reverse(f"licensing:{name}", kwargs={"sa_pk": self.sa_pk})


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    icon: str
    url: str
    account_url: str


# The pages of a scope, as tabs: (key, label, icon, URL name).
TABS = [
    ("dashboard", "Dashboard", "speedometer2", "dashboard"),
    ("licenses", "Licenses", "key", "license_list"),
    ("devices", "Devices", "hdd-network", "device_list"),
    ("tokens", "Tokens", "ticket-perforated", "token_list"),
    ("paks", "PAKs", "upc-scan", "classic_license_list"),
    ("events", "Events", "journal-text", "event_list"),
    ("reconciliation", "Reconciliation", "clipboard-data", "reconciliation"),
    ("alerts", "Alerts", "bell", "alert_preferences"),
]
ACCOUNT_ONLY_TABS = {"paks", "alerts"}


@dataclass
class Scope:
    user: User
    smart_account: SmartAccount
    virtual_account: VirtualAccount | None
    # The Virtual Accounts the page covers, narrowed to those the user may see.
    virtual_accounts: QuerySet[VirtualAccount] = field(repr=False)

    @property
    def kwargs(self) -> dict:
        return {"va_pk": self.virtual_account.pk} if self.virtual_account else {"sa_pk": self.smart_account.pk}

    @property
    def url(self) -> ScopeUrls:
        return ScopeUrls(sa_pk=self.smart_account.pk, va_pk=self.virtual_account.pk if self.virtual_account else None)

    @cached_property
    def tabs(self) -> list[Tab]:
        here, account = self.url, ScopeUrls(sa_pk=self.smart_account.pk)
        tabs = []
        for key, label, icon, name in TABS:
            if key in ACCOUNT_ONLY_TABS and (self.virtual_account is not None or not self.sees_account_wide):
                continue
            if key == "alerts" and not self.is_sa_admin:
                continue
            if key == "tokens" and not self.can_operate:
                continue  # tokens are for those who may register devices here (users up), as in the API
            tabs.append(Tab(key=key, label=label, icon=icon, url=here[name], account_url=account[name]))
        return tabs

    @property
    def is_account(self) -> bool:
        return self.virtual_account is None

    @property
    def label(self) -> str:
        if self.virtual_account is None:
            return self.smart_account.name
        return f"{self.smart_account.name} / {self.virtual_account.name}"

    @cached_property
    def path(self) -> list[VirtualAccount]:
        """The Virtual Accounts above this one (names, for the breadcrumbs)."""
        if self.virtual_account is None:
            return []
        return list(self.virtual_account.get_ancestors())

    @cached_property
    def operable(self) -> QuerySet[VirtualAccount]:
        """The Virtual Accounts of the scope in which the user may act (tokens, devices)."""
        return permissions.visible_virtual_accounts(self.user, OPERATE).filter(pk__in=self.virtual_accounts.values("pk"))

    @cached_property
    def operable_in_account(self) -> QuerySet[VirtualAccount]:
        """The account's Virtual Accounts in which the user may act (targets of moves and transfers)."""
        return permissions.visible_virtual_accounts(self.user, OPERATE).filter(smart_account=self.smart_account)

    @cached_property
    def can_operate(self) -> bool:
        return self.operable.exists()

    @cached_property
    def is_sa_admin(self) -> bool:
        return permissions.can(self.user, ADMINISTER, self.smart_account)

    @cached_property
    def sees_account_wide(self) -> bool:
        """The account's PAKs (and, for SA admins, its alert settings): not for VA roles."""
        return permissions.sees_account_wide_data(self.user, self.smart_account)


def page_scope(request: HttpRequest, sa_pk: int | None, va_pk: int | None) -> Scope:
    user = request.user
    if va_pk is not None:
        va = permissions.get_or_404(user, VirtualAccount.objects.select_related("smart_account"), VIEW, pk=va_pk)
        sa = va.smart_account
        vas = selectors.virtual_accounts_in_scope(user, virtual_account=va)
    else:
        va = None
        sa = permissions.get_or_404(user, SmartAccount.objects.all(), VIEW, pk=sa_pk)
        vas = selectors.virtual_accounts_in_scope(user, smart_account=sa)
    if sa.kind == SmartAccountKind.HOLDING:
        # Holding accounts hold order lines, not pools: nothing is consumed there.
        raise Http404("A holding account has no licenses in use; see its held order lines.")
    return Scope(user=user, smart_account=sa, virtual_account=va, virtual_accounts=vas)


def paginate(request: HttpRequest, queryset, per_page: int = PER_PAGE):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def next_or(request: HttpRequest, fallback: str) -> str:
    """Where to go back to after an action: the page that posted it (same site only)."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


def is_filtered(request: HttpRequest) -> bool:
    return any(value for key, value in request.GET.items() if key != "page")


# --- CSV exports ------------------------------------------------------------------------------


def export_name(scope: Scope, what: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", scope.label).strip("-").lower() or "account"
    return f"{slug}-{what}-{timezone.localdate().isoformat()}.csv"
