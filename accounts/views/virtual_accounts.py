"""Virtual Account pages: create, rename or move, delete, and make one the account's default;
and the lookups (404 unless visible) the account pages share."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from lib.forms import run_service

from .. import permissions, services
from ..forms import VirtualAccountForm
from ..models import SmartAccount, VirtualAccount
from ..permissions import ADMINISTER, STRUCTURE, VIEW


def smart_account_or_404(request: HttpRequest, pk: int, capability=VIEW) -> SmartAccount:
    return permissions.get_or_404(request.user, SmartAccount.objects.all(), capability, pk=pk)


def virtual_account_or_404(request: HttpRequest, pk: int, capability=VIEW) -> VirtualAccount:
    return permissions.get_or_404(request.user, VirtualAccount.objects.select_related("smart_account", "parent"), capability, pk=pk)


def _tree_open_at(va: VirtualAccount) -> str:
    """The account home with its tree opened down to `va` (deeper levels load on demand)."""
    return f"{reverse('portal:smart_account_detail', args=[va.smart_account_id])}?open={va.pk}#va-{va.pk}"


@login_required
def virtual_account_create(request: HttpRequest, pk: int) -> HttpResponse:
    sa = smart_account_or_404(request, pk)
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
    va = virtual_account_or_404(request, va_pk)
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
    va = virtual_account_or_404(request, va_pk)
    try:
        services.virtual_account_delete(virtual_account=va, actor=request.user)
        messages.success(request, f"Virtual Account {va.name} deleted.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("portal:smart_account_detail", pk=va.smart_account_id)


@require_POST
@login_required
def virtual_account_set_default(request: HttpRequest, va_pk: int) -> HttpResponse:
    va = virtual_account_or_404(request, va_pk)
    permissions.require(request.user, ADMINISTER, va.smart_account)
    services.smart_account_set_default_virtual_account(virtual_account=va, actor=request.user)
    messages.success(request, f"Order lines without a Virtual Account now land in {va.name}.")
    return redirect("portal:smart_account_detail", pk=va.smart_account_id)
