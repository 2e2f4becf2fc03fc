"""/licensing/, the user's customer accounts with their compliance, is a django-tables2 table
(licensing/tables.py AccountComplianceTable): it sorts by account name both ways, ignores a column
it does not know or cannot sort (compliance is worked out per page, after the sort), keeps the sort
in its page links, downloads every account's row as CSV with the columns it shows, and runs the
same number of queries sorted as unsorted, at two data sizes."""
import pytest

from accounts.models import Role, SmartAccount
from licensing.tables import AccountComplianceTable

from ..factories import DeviceFactory, ProductFactory, ShortageFactory, SmartAccountFactory, SmartAccountRoleFactory, UserFactory
from .pages_support import csv_rows, html, queries

pytestmark = pytest.mark.django_db

INDEX = "/licensing/"


def _sortable(table_class) -> set[str]:
    return {name for name, column in table_class.base_columns.items() if column.orderable is not False and column.visible}


def _account(user, name: str, domain: str) -> SmartAccount:
    sa = SmartAccountFactory(name=name, domain=domain)
    SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_VIEWER)
    return sa


@pytest.fixture
def viewer(db):
    """A user who sees three customer accounts; Globex is short of one product and has a silent device."""
    user = UserFactory(email="vic@example.com")
    for name in ("Initech", "Acme", "Globex"):
        sa = _account(user, name, f"{name.lower()}.example")
        if name == "Globex":
            ShortageFactory(virtual_account=sa.default_virtual_account, product=ProductFactory(sku="ISR-SEC-K9"))
            DeviceFactory(virtual_account=sa.default_virtual_account, last_contact_at=None)
    SmartAccountFactory(name="Hidden")  # not hers
    return user


def test_the_account_list_sorts_by_name_both_ways_and_only_by_name(client, viewer):
    assert _sortable(AccountComplianceTable) == {"account"}
    client.force_login(viewer)

    ascending = [row.smart_account.name for row in client.get(INDEX, {"sort": "account"}).context["rows"]]
    descending = [row.smart_account.name for row in client.get(INDEX, {"sort": "-account"}).context["rows"]]

    assert ascending == ["Acme", "Globex", "Initech"] and descending == ["Initech", "Globex", "Acme"]


def test_the_account_list_ignores_an_unknown_or_unsortable_column(client, viewer):
    client.force_login(viewer)

    for bad in ("nope", "compliance", "-silent_devices", "domain", "pages", ""):
        response = client.get(INDEX, {"sort": bad})
        assert [row.smart_account.name for row in response.context["rows"]] == ["Acme", "Globex", "Initech"], bad


def test_the_account_list_shows_compliance_and_its_page_links_keep_the_sort(client, viewer):
    for i in range(30):
        _account(viewer, f"Zeta {i:02d}", f"zeta{i}.example")
    client.force_login(viewer)

    response = client.get(INDEX, {"sort": "-account"})
    page = html(response)

    assert 'aria-sort="descending"' in page and 'href="?sort=account"' in page
    assert 'href="?sort=-account&amp;page=2"' in page and 'href="?sort=-account&amp;_export=csv"' in page
    assert [row.smart_account.name for row in response.context["rows"]][:2] == ["Zeta 29", "Zeta 28"]
    assert len(response.context["rows"]) == 25
    globex = html(client.get(INDEX, {"sort": "account"}))  # Globex is on page 1
    table = globex[globex.index('id="account-compliance"'):]
    assert "1 product in shortage" in table and "ISR-SEC-K9" in table


def test_the_account_csv_lists_every_account_with_its_compliance_in_the_sort_order(client, viewer):
    client.force_login(viewer)

    rows = csv_rows(client.get(INDEX, {"sort": "-account", "_export": "csv"}))

    assert list(rows[0]) == ["Smart Account", "Domain", "Compliance", "Silent devices", "Subscriptions ending in 90 days"]
    assert [row["Smart Account"] for row in rows] == ["Initech", "Globex", "Acme"]
    assert rows[1]["Compliance"] == "1 in shortage: ISR-SEC-K9" and rows[1]["Silent devices"] == "1"
    assert rows[0]["Compliance"] == "in compliance" and rows[0]["Domain"] == "initech.example"


def test_the_sorted_account_list_and_its_csv_run_a_fixed_number_of_queries(client, viewer):
    client.force_login(viewer)
    counts = []
    for size in (2, 12):
        for i in range(size):
            sa = _account(viewer, f"Grown {size}-{i}", f"grown{size}-{i}.example")
            ShortageFactory(virtual_account=sa.default_virtual_account)
        counts.append(tuple(queries(client, f"{INDEX}?sort={sort}") for sort in ("", "account", "-account", "nope",
                                                                                  "-account&_export=csv")))
    assert counts[0] == counts[1]
    assert len(set(counts[0][:4])) == 1  # sorting adds no query
