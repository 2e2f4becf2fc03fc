"""Reads of accounts data for pages and the API."""
from django.db.models import QuerySet

from . import permissions
from .models import SmartAccount


def smart_accounts_for_switcher(*, user) -> QuerySet[SmartAccount]:
    return permissions.visible(user, SmartAccount).only("id", "name", "kind", "domain").order_by("name")[:50]
