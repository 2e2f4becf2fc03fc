"""The pages of emailed links (`<token>` in their URL): the decorator that finds the link's
invitation for its signed-in addressee (also used by the orders and portal pages)."""
from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from .. import selectors


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
