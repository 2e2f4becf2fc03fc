"""An account's alert preferences (the defaults, unsaved, for an account that never changed them)."""
from __future__ import annotations

from collections.abc import Iterable

from accounts.models import SmartAccount

from ..models import AlertPreferences


def alert_preferences(smart_account: SmartAccount) -> AlertPreferences:
    """The account's alert preferences (the defaults, unsaved, if it never changed them)."""
    return AlertPreferences.objects.filter(smart_account=smart_account).first() or AlertPreferences(smart_account=smart_account)


def alert_preferences_of(smart_account_ids: Iterable[int]) -> dict[int, AlertPreferences]:
    """The alert preferences of each of these accounts, in one query: {account id: preferences},
    the defaults (unsaved) for an account that never changed them."""
    ids = {pk for pk in smart_account_ids if pk is not None}
    saved = {p.smart_account_id: p for p in AlertPreferences.objects.filter(smart_account_id__in=ids)} if ids else {}
    return {pk: saved.get(pk) or AlertPreferences(smart_account_id=pk) for pk in ids}
