"""Template context every page needs: the account switcher's accounts."""
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from accounts.selectors import smart_accounts_for_switcher

    return {"nav_smart_accounts": smart_accounts_for_switcher(user=user)}
