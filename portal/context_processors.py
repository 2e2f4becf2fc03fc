"""Template context every page needs: the account switcher's accounts and which menu entries
the user gets (decided by accounts.permissions, not by the templates)."""
from functools import partial

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from accounts import permissions
    from accounts.selectors import smart_accounts_for_switcher

    return {
        "nav_smart_accounts": smart_accounts_for_switcher(user=user),
        # Callables: the template asks only where it shows the menu (htmx fragments do not).
        "nav_partner_pages": partial(permissions.sees_partner_pages, user),
        "nav_admin": partial(permissions.is_staff, user),
    }
