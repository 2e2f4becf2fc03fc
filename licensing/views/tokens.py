"""Registration tokens (flow 10): list, create (the secret shown once) and revoke."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions
from accounts.permissions import OPERATE
from lib.forms import run_service
from lib.tables import is_filtered, records_page, table_configure, table_csv_response, wants_csv

from .. import selectors, services
from ..filtersets import TokenFilterSet
from ..forms import TokenCreateForm
from ..models import RegistrationToken
from ..tables import TokenTable
from .scope import PER_PAGE, Scope, export_name, next_or, page_scope


NEW_TOKEN_SESSION_KEY = "licensing_new_token"


def _render_tokens(request: HttpRequest, scope: Scope, *, form: TokenCreateForm | None = None, status: int = 200) -> HttpResponse:
    operable_ids = set(scope.operable.values_list("pk", flat=True))
    if not operable_ids:
        raise permissions.refusal(request.user, "Registration tokens are for those who may register devices here.")
    # A token is a pool's secret: listed where the user may operate (users up), as in the API.
    tokens = selectors.tokens(scope.operable)
    filterset = TokenFilterSet(request.GET or None, queryset=tokens)
    table = TokenTable(filterset.qs)
    if wants_csv(request) and request.method == "GET":
        return table_csv_response(table_configure(request, table), export_name(scope, "tokens"))
    page_obj = records_page(table_configure(request, table, per_page=PER_PAGE))
    if form is None and operable_ids:
        default = scope.virtual_account.pk if scope.virtual_account and scope.virtual_account.pk in operable_ids else None
        if default is None and len(operable_ids) == 1:
            default = next(iter(operable_ids))
        form = TokenCreateForm(virtual_accounts=scope.operable, initial={"virtual_account": default})
    for token in page_obj.object_list:
        token.can_revoke = token.current_status != "revoked"
    context = {
        "scope": scope, "active": "tokens", "filterset": filterset, "page_obj": page_obj, "table": table, "form": form,
        "is_filtered": is_filtered(request), "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        # SITE_URL, not the request's Host header: devices are configured from what this page says.
        "register_url": settings.SITE_URL + reverse("api:device_register"),
    }
    return render(request, "licensing/token_list.html", context, status=status)


@require_GET
@never_cache
@login_required
def token_list(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    return _render_tokens(request, page_scope(request, sa_pk, va_pk))


@require_POST
@never_cache
@login_required
def token_create(request: HttpRequest, sa_pk: int | None = None, va_pk: int | None = None) -> HttpResponse:
    scope = page_scope(request, sa_pk, va_pk)
    if not scope.can_operate:
        raise permissions.refusal(request.user, "You may not create registration tokens here.")
    form = TokenCreateForm(request.POST, virtual_accounts=scope.operable)
    if form.is_valid():
        data = form.cleaned_data
        result = run_service(
            form, services.token_create, virtual_account=data["virtual_account"], description=data["description"],
            expires_in_days=data["expires_in_days"], max_uses=data["max_uses"], actor=request.user,
        )
        if result is not None:
            token, raw = result
            request.session[NEW_TOKEN_SESSION_KEY] = {
                "id": token.pk, "token": raw, "virtual_account": token.virtual_account.name,
                "expires_at": token.expires_at.isoformat(), "description": token.description,
            }
            messages.success(request, f"Registration token created in {token.virtual_account.name}. "
                                      "Copy it now: it is shown only once.")
            return redirect(scope.url["token_list"])
    return _render_tokens(request, scope, form=form)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = permissions.get_or_404(
        request.user, RegistrationToken.objects.select_related("virtual_account__smart_account"), OPERATE, pk=pk
    )
    try:
        services.token_revoke(token=token, actor=request.user)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Token {token.prefix}… is revoked: no device can register with it any more. "
                                  "Devices registered with it stay.")
    fallback = reverse("licensing:token_list", kwargs={"sa_pk": token.virtual_account.smart_account_id})
    return redirect(next_or(request, fallback))
