"""An account's classic licenses (PAKs), by status."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import SmartAccount

from ..models import ClassicLicense


def classic_licenses(smart_account: SmartAccount, *, status: str | None = None) -> QuerySet[ClassicLicense]:
    """An account's PAKs, newest first; status available | registered | converted."""
    qs = ClassicLicense.objects.filter(smart_account=smart_account).select_related("product", "converted_to")
    if status == "available":
        qs = qs.filter(registered_at__isnull=True, converted_at__isnull=True)
    elif status == "registered":
        qs = qs.filter(registered_at__isnull=False)
    elif status == "converted":
        qs = qs.filter(converted_at__isnull=False)
    return qs.order_by("-created_at", "-pk")
