"""Template helpers of the licensing pages: status badges' words and colours, links within a scope
(events in words are accounts.event_log's, through the event_log tags)."""
from __future__ import annotations

import datetime

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

register = template.Library()


@register.simple_tag
def scope_url(urls, name: str, **kwargs) -> str:
    """A page of the same scope that needs more arguments:
    `{% scope_url urls "license_detail" product_pk=product.pk %}` (`urls`: views.ScopeUrls)."""
    if urls.va_pk is not None:
        try:
            return reverse(f"licensing:{name}", kwargs={"va_pk": urls.va_pk, **kwargs})
        except NoReverseMatch:
            pass
    return reverse(f"licensing:{name}", kwargs={"sa_pk": urls.sa_pk, **kwargs})


@register.filter
def days_until(day: datetime.date | None) -> int | None:
    """Days from today to `day` (negative when past)."""
    if day is None:
        return None
    return (day - timezone.localdate()).days
