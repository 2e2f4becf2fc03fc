"""Events in words in templates, from accounts.event_log: `{{ e|event_describe }}` (the whole
event in a sentence), `{{ e.action|event_title }}` and `{{ e.action|event_tone }}` (a badge's colour)."""
from __future__ import annotations

from django import template

from accounts import event_log
from accounts.models import Event

register = template.Library()


@register.filter
def event_describe(event: Event) -> str:
    return event_log.event_describe(event).sentence


register.filter("event_title", event_log.event_title)
register.filter("event_tone", event_log.event_tone)
