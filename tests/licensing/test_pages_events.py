"""The event log page: the account's events as the user may see them, filtered by type,
Virtual Account, actor and date, paginated, exported as CSV."""
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import filtersets
from accounts.models import Event, EventAction
from accounts.views import events as event_views
from licensing.services import device_register, license_transfer, token_create

from ..factories import EntitlementFactory, EventFactory
from .pages_support import csv_rows, html, queries

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
    table = page[page.index('id="event-table"'):]
    assert "Registration token" in table and "OLD0001" not in table
    assert "smart_account.created" not in table  # account-wide events need an account-wide role


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


def test_reregistering_records_a_secret_rotation_event_admins_see(client, acme):
    _, raw = token_create(virtual_account=acme.us, description="Lab", actor=acme.admin)
    _, secret, _ = device_register(token=raw, serial_number="FTX0001", hostname="edge-1")
    device_register(token=raw, serial_number="FTX0001", hostname="edge-1-new")
    device_register(device_secret=device_register(token=raw, serial_number="FTX0001")[1], serial_number="FTX0001")
    client.force_login(acme.admin)

    page = html(client.get(url(acme), {"action": EventAction.DEVICE_REREGISTERED}))

    table = page[page.index('id="event-table"'):]
    assert f"Device FTX0001 re-registered with token {raw[:12]}…, secret rotated (edge-1-new)" in table
    assert "Device FTX0001 re-registered with its current secret, secret rotated" in table
    assert "Device FTX0001 registered" not in table  # the first registration is another type
    assert '<option value="device.reregistered" selected>Device re-registered, secret rotated</option>' in page


# --- the type filter: every type there is, not those the log happens to hold ----------------------


def _select(page: str, name: str) -> str:
    return re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)


def test_the_type_filter_offers_every_type_of_event_by_family(client, acme, log):
    client.force_login(acme.admin)
    types = _select(html(client.get(url(acme))), "action")
    offered = re.findall(r'<option value="([^"]+)"', types)

    assert set(EventAction.values) <= set(offered)  # also those that never happened here
    assert '<optgroup label="Device">' in types and '<option value="device.">All device events</option>' in types
    assert offered.index("device.") < offered.index("device.registered")  # the family, then its types
    assert '<option value="pak.converted">PAK converted</option>' in types


def test_filtering_by_a_type_the_log_does_not_hold_finds_nothing(client, acme, log):
    client.force_login(acme.admin)
    page = html(client.get(url(acme), {"action": EventAction.PAK_CONVERTED}))

    assert "No events match these filters" in page
    assert '<option value="pak.converted" selected>' in page


def test_an_unknown_type_is_refused_not_ignored_silently(client, acme, log):
    client.force_login(acme.admin)
    page = html(client.get(url(acme), {"action": "device.exploded"}))

    assert "Select a valid choice" in page


# --- the Virtual Account filter: a select while short, a search box when long -------------------


@pytest.fixture
def long_tree(monkeypatch):
    """Two Virtual Accounts count as too many to list (the box is tested without 101 of them)."""
    monkeypatch.setattr(filtersets, "VIRTUAL_ACCOUNT_SELECT_LIMIT", 1)


def test_a_short_tree_is_a_select_of_its_virtual_accounts(client, acme, log):
    client.force_login(acme.admin)
    vas = _select(html(client.get(url(acme))), "virtual_account")

    assert re.findall(r'<option value="(\d*)"', vas) == ["", *(str(va.pk) for va in (acme.root, acme.europe, acme.us, acme.finance))]


def test_a_long_tree_is_a_search_box_that_filters_by_id_and_shows_the_name(client, acme, log, long_tree):
    client.force_login(acme.admin)
    page = html(client.get(url(acme), {"virtual_account": acme.europe.pk}))
    table = page[page.index('id="event-table"'):]

    assert '<select name="virtual_account"' not in page
    assert f'<input type="hidden" name="virtual_account" id="id_virtual_account_value" value="{acme.europe.pk}">' in page
    assert re.search(r'<input type="search" id="id_virtual_account"[^>]* value="Europe"', page)
    search = reverse("licensing:virtual_account_search", kwargs={"sa_pk": acme.account.pk})
    assert f'hx-get="{search}"' in page
    assert "moved from Europe" in table and "Registration token" not in table  # filtered as before


def test_a_long_tree_box_is_empty_when_no_virtual_account_is_chosen(client, acme, log, long_tree):
    client.force_login(acme.admin)
    page = html(client.get(url(acme)))

    assert '<input type="hidden" name="virtual_account" id="id_virtual_account_value" value="">' in page
    assert re.search(r'<input type="search" id="id_virtual_account"[^>]* value=""', page)


def test_a_long_tree_box_refuses_a_virtual_account_the_user_does_not_see(client, acme, log, long_tree):
    client.force_login(acme.va_viewer)
    page = html(client.get(url(acme), {"virtual_account": acme.europe.pk}))

    assert "Select a valid choice" in page
    assert '<input type="hidden" name="virtual_account" id="id_virtual_account_value" value="">' in page


def test_the_box_costs_no_more_queries_than_the_select(client, acme, log, monkeypatch):
    client.force_login(acme.admin)
    filtered = url(acme) + f"?virtual_account={acme.europe.pk}"
    as_select = [queries(client, url(acme)), queries(client, filtered)]
    monkeypatch.setattr(filtersets, "VIRTUAL_ACCOUNT_SELECT_LIMIT", 1)
    as_box = [queries(client, url(acme)), queries(client, filtered)]

    assert as_box == as_select


# --- the suggestions of the box -----------------------------------------------------------------


def search(client, acme, q: str = "", **scope):
    return client.get(reverse("licensing:virtual_account_search", kwargs=scope or {"sa_pk": acme.account.pk}), {"q": q})


def suggested(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'data-va-id="(\d+)" data-va-name="([^"]*)"', html(response))


def test_the_suggestions_are_the_names_containing_the_text_in_tree_order(client, acme):
    client.force_login(acme.sa_viewer)

    assert suggested(search(client, acme, "e")) == [
        (str(acme.root.pk), "DEFAULT"), (str(acme.europe.pk), "Europe"), (str(acme.finance.pk), "Finance")]
    assert suggested(search(client, acme, "EUR")) == [(str(acme.europe.pk), "Europe")]
    assert len(suggested(search(client, acme, ""))) == 4  # nothing typed: the first of the tree
    assert "in US" in html(search(client, acme, "fin"))  # with its parent, names repeat


def test_a_va_role_is_suggested_only_its_subtree(client, acme):
    client.force_login(acme.va_viewer)

    assert suggested(search(client, acme, "")) == [(str(acme.us.pk), "US"), (str(acme.finance.pk), "Finance")]
    assert suggested(search(client, acme, "Europe")) == []
    assert "No Virtual Account you see has “Europe” in its name" in html(search(client, acme, "Europe"))


def test_a_virtual_account_scope_suggests_its_subtree_only(client, acme):
    client.force_login(acme.admin)

    assert suggested(search(client, acme, "", va_pk=acme.us.pk)) == [(str(acme.us.pk), "US"), (str(acme.finance.pk), "Finance")]


def test_the_suggestions_say_when_there_are_more(client, acme, monkeypatch):
    monkeypatch.setattr(event_views, "VA_SUGGESTIONS", 2)
    client.force_login(acme.admin)
    response = search(client, acme, "")

    assert len(suggested(response)) == 2
    assert "The first 2 are shown: type more of the name." in html(response)


def test_the_suggestions_are_for_signed_in_users_who_see_the_account(client, acme):
    anonymous = search(client, acme, "e")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("account_login"))

    client.force_login(acme.outsider)
    assert search(client, acme, "e").status_code == 404
    client.force_login(acme.va_viewer)
    assert search(client, acme, "e", va_pk=acme.europe.pk).status_code == 404  # not their subtree
