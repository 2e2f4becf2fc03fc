"""One event, described in words for people by one function (`accounts.event_log.event_describe`):
the event log and its CSV, the dashboards, a product's page and an order's history all say the
same thing about the same event, and never show a bare code."""
import pytest
from django.template import Context, Template

from accounts.event_log import event_describe, event_title
from accounts.models import Event, EventAction

from ..factories import EventFactory, SmartAccountFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", EventAction.values)
def test_every_event_type_has_a_title_in_words_not_its_code(action):
    title = event_title(action)

    assert title and action not in title and "_" not in title and "." not in title


def test_an_unknown_event_type_is_spelled_out():
    assert event_title("webhook.delivery_failed") == "Webhook delivery failed"


def test_the_log_sentence_says_what_happened_from_the_detail():
    event = Event(action=EventAction.TOKEN_REVOKED, detail={"prefix": "ab12"}, object_repr="token 7")

    assert str(event_describe(event)) == "Registration token ab12… revoked"


def test_an_unreadable_detail_falls_back_to_the_object_then_the_title():
    # An older event's detail of another shape: words from what the event still says, never an error.
    odd = Event(action=EventAction.LICENSES_TRANSFERRED, detail={"lines": 5, "from": "A", "to": "B"}, object_repr="")
    broken = Event(action=EventAction.ORDER_PLACED, detail=["not", "a", "dict"], object_repr="SO-1")

    assert event_describe(odd).sentence == "Licenses transferred"
    assert (event_describe(broken).title, event_describe(broken).sentence) == ("Order placed", "SO-1")


def test_order_events_read_the_same_in_the_order_history_and_the_event_log():
    account = SmartAccountFactory(name="Globex")
    event = EventFactory(smart_account=account, action=EventAction.ORDER_LINE_SHIPPED,
                         detail={"shipped_on": "2026-03-01"}, object_repr="SO-1 line 2")

    described = event_describe(event)

    assert (described.title, described.details) == ("Shipped", "on 2026-03-01 to Globex")  # the order's history
    assert described.sentence == "Shipped on 2026-03-01 to Globex"  # the event log, its CSV, the dashboards


def test_templates_describe_events_through_the_same_function():
    event = Event(action=EventAction.DEVICE_MOVED, detail={"serial_number": "S1", "from": "EU", "to": "US"})
    rendered = Template("{% load event_log %}{{ e|event_describe }}|{{ e.action|event_title }}").render(Context({"e": event}))

    assert rendered == f"{event_describe(event).sentence}|Device moved"
