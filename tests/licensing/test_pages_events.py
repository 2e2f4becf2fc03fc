"""The event log page: the account's events as the user may see them, filtered by type,
Virtual Account, actor and date, paginated, exported as CSV."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Event
from licensing.services import license_transfer, token_create

from ..factories import EntitlementFactory, EventFactory
from .pages_support import csv_rows, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.finance, lines=[(product, 2)], actor=acme.admin)
    token_create(virtual_account=acme.us, description="Lab", actor=acme.va_user)
    old = EventFactory(smart_account=acme.account, virtual_account=acme.europe, action="device.removed",
                       detail={"serial_number": "OLD0001", "usage": []})
    Event.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))


def url(acme, **kwargs):
    return reverse("licensing:event_list", kwargs=kwargs or {"sa_pk": acme.account.pk})


def test_the_log_says_what_happened_newest_first(client, acme, log):
    client.force_login(acme.sa_viewer)
    page = html(client.get(url(acme)))
    table = page[page.index('id="event-table"'):]
    assert "2 × ISR-SEC-K9 moved from Europe to Finance" in table
    assert "Device OLD0001 removed" in table
    assert table.index("Registration token") < table.index("moved from Europe") < table.index("OLD0001")


def test_the_log_filters_by_type_virtual_account_actor_and_date(client, acme, log):
    client.force_login(acme.admin)
    only = html(client.get(url(acme), {"action": "token.created"}))
    assert "Registration token" in only and "moved from Europe" not in only
    family = html(client.get(url(acme), {"action": "device."}))
    assert "OLD0001" in family and "Registration token" not in family
    europe = html(client.get(url(acme), {"virtual_account": acme.europe.pk}))
    assert "moved from Europe" in europe and "Registration token" not in europe
    by_actor = html(client.get(url(acme), {"actor": "VA.USER@example.com"}))
    assert "Registration token" in by_actor and "moved from Europe" not in by_actor
    old = html(client.get(url(acme), {"until": (timezone.localdate() - datetime.timedelta(days=30)).isoformat()}))
    assert "OLD0001" in old and "Registration token" not in old
    recent = html(client.get(url(acme), {"since": timezone.localdate().isoformat()}))
    assert "OLD0001" not in recent and "Registration token" in recent


def test_a_va_role_sees_only_its_subtrees_events(client, acme, log):
    client.force_login(acme.va_viewer)
    page = html(client.get(url(acme)))
    assert "Registration token" in page and "OLD0001" not in page
    assert "smart_account.created" not in page  # account-wide events need an account-wide role


def test_the_csv_export_contains_the_filtered_rows(client, acme, log):
    client.force_login(acme.sa_viewer)
    rows = csv_rows(client.get(reverse("licensing:event_export", kwargs={"sa_pk": acme.account.pk})))
    assert len(rows) == Event.objects.filter(smart_account=acme.account).count()
    transferred = next(r for r in rows if r["type"] == "licenses.transferred")
    assert transferred["summary"] == "2 × ISR-SEC-K9 moved from Europe to Finance"
    assert transferred["actor"] == acme.admin.email and transferred["virtual_account"] == "Europe"
    only = csv_rows(client.get(reverse("licensing:event_export", kwargs={"sa_pk": acme.account.pk}), {"action": "device."}))
    assert [r["type"] for r in only] == ["device.removed"]


def test_the_log_pages(client, acme):
    for n in range(60):
        EventFactory(smart_account=acme.account, action="device.registered", detail={"serial_number": f"S{n:03d}"})
    client.force_login(acme.admin)
    page = html(client.get(url(acme)))
    assert "Page 1 of 2" in page
