"""Registration tokens of a set of Virtual Accounts, with their current status."""
from __future__ import annotations

from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone

from accounts.models import VirtualAccount

from ..models import RegistrationToken, TokenStatus


def tokens(virtual_accounts: QuerySet[VirtualAccount], *, status: str | None = None) -> QuerySet[RegistrationToken]:
    """Registration tokens of these VAs, newest first, annotated `current_status`."""
    now = timezone.now()
    qs = (
        RegistrationToken.objects.filter(virtual_account__in=virtual_accounts.values("pk"))
        .select_related("virtual_account", "created_by")
        .annotate(
            current_status=Case(
                When(revoked_at__isnull=False, then=Value(TokenStatus.REVOKED)),
                When(expires_at__lte=now, then=Value(TokenStatus.EXPIRED)),
                When(max_uses__isnull=False, use_count__gte=F("max_uses"), then=Value(TokenStatus.USED_UP)),
                default=Value(TokenStatus.ACTIVE),
            )
        )
        .order_by("-created_at", "-pk")
    )
    if status:
        qs = qs.filter(current_status=status)
    return qs
