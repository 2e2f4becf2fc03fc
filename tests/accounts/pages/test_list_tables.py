"""The accounts lists are django-tables2 tables (accounts/tables.py): users and roles of a Smart
Account, a partner's members, the customer roles a partner manages, support cases, API keys and
the members of a partner's holding accounts, and the user's Smart Accounts. Each sorts by every
sortable column through `?sort=` (both ways), ignores a column it does not know, downloads its
rows as CSV with the columns it shows (not the buttons), and sorts without an extra query."""
import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, HoldingMembership, PartnerMembership, Role, SmartAccountRole, SupportCase, VirtualAccountRole
from accounts.tables import (
    ApiKeyTable,
    HoldingMemberTable,
    PartnerCustomerTable,
    PartnerMemberTable,
    RoleTable,
    SmartAccountTable,
    SupportCaseTable,
)

from tests.factories import (
    ApiKeyFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

CUSTOMERS = "/partner/customers/"
PARTNER = "/partner/"
API_KEYS = "/profile/api-keys/"
HOLDING = "/partner/holding-accounts/"
ACCOUNTS = "/sa/"


def _sortable(table_class) -> set[str]:
    return {name for name, column in table_class.base_columns.items() if column.orderable is not False and column.visible}


def _csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _table_rows(response, name: str = "table") -> list:
    return [row.record for row in response.context[name].rows]


def _check_sorts(client, url: str, name: str, keys: dict) -> None:
    for column, key in keys.items():
        ascending = _table_rows(client.get(url, {"sort": column}), name)
        assert len(ascending) >= 3, column
        assert [key(r) for r in ascending] == sorted(key(r) for r in ascending), column
        descending = _table_rows(client.get(url, {"sort": f"-{column}"}), name)
        assert [key(r) for r in descending] == sorted((key(r) for r in ascending), reverse=True), column


@pytest.fixture
def account():
    """Acme with its admin ada, three more roles granted on different days (one to a partner user)."""
    sa = SmartAccountFactory(name="Acme", domain="acme.example")
    ada = UserFactory(email="ada@acme.example")
    SmartAccountRoleFactory(user=ada, content_object=sa, role=Role.SA_ADMIN)
    europe = VirtualAccountFactory(parent=sa.default_virtual_account, name="Europe")
    zed = UserFactory(email="zed@acme.example")
    SmartAccountRoleFactory(user=zed, content_object=sa, role=Role.SA_VIEWER, granted_by=ada)
    bea = UserFactory(email="bea@acme.example")
    VirtualAccountRoleFactory(user=bea, content_object=europe, role=Role.VA_USER, granted_by=ada)
    PartnerMembershipFactory(user=bea)
    now = timezone.now()
    SmartAccountRole.objects.filter(user=zed).update(granted_at=now - datetime.timedelta(days=3))
    VirtualAccountRole.objects.filter(user=bea).update(granted_at=now - datetime.timedelta(days=1))
    return sa, ada


ROLE_KEYS = {
    "user": lambda r: r.user.email,
    "role": lambda r: r.permission.name,
    "scope": lambda r: r.scope_label,
    "granted": lambda r: r.granted_at,
}


def test_users_and_roles_sort_by_every_sortable_column(client, account):
    sa, ada = account
    assert set(ROLE_KEYS) == _sortable(RoleTable)
    client.force_login(ada)

    _check_sorts(client, f"/sa/{sa.pk}/users/", "roles_table", ROLE_KEYS)


def test_users_and_roles_ignore_an_unknown_sort_and_export_their_columns(client, account):
    sa, ada = account
    client.force_login(ada)
    url = f"/sa/{sa.pk}/users/"
    unsorted = [r.pk for r in _table_rows(client.get(url), "roles_table")]

    for bad in ("nope", "actions", "-user__password"):
        assert [r.pk for r in _table_rows(client.get(url, {"sort": bad}), "roles_table")] == unsorted, bad
    rows = _csv(client.get(url, {"sort": "user", "_export": "csv"}))

    assert list(rows[0]) == ["User", "Role", "Scope", "Granted by"]
    assert [row["User"].split(" ")[0] for row in rows] == ["ada@acme.example", "bea@acme.example", "zed@acme.example"]
    assert rows[1]["Scope"] == "Europe" and "partner" in rows[1]["User"] and rows[2]["Scope"] == "Whole account"


def test_users_and_roles_csv_is_for_account_admins_only(client, account):
    sa, _ = account
    client.force_login(UserFactory())

    assert client.get(f"/sa/{sa.pk}/users/", {"_export": "csv"}).status_code in (403, 404)


@pytest.fixture
def customers(partner, partner_admin, partner_member):
    for name, user, role in (("Globex", partner_admin, Role.SA_VIEWER), ("Acme", partner_member, Role.SA_USER),
                             ("Initech", partner_admin, Role.SA_ADMIN)):
        sa = SmartAccountFactory(name=name, domain=f"{name.lower()}.example")
        SmartAccountRoleFactory(user=user, content_object=sa, role=role, granted_by=UserFactory())
    return partner


CUSTOMER_KEYS = {
    "account": lambda r: r.smart_account.name,
    "user": lambda r: r.user.email,
    "role": lambda r: r.role_label,
    "scope": lambda r: r.scope,
    "granted": lambda r: r.granted_at,
}


def test_customers_we_manage_sort_by_every_sortable_column_and_export(as_user, partner_member, customers):
    assert set(CUSTOMER_KEYS) == _sortable(PartnerCustomerTable)
    client = as_user(partner_member)

    _check_sorts(client, CUSTOMERS, "table", CUSTOMER_KEYS)
    rows = _csv(client.get(CUSTOMERS, {"sort": "-account", "_export": "csv"}))

    assert list(rows[0]) == ["Customer account", "User", "Role", "Scope", "Granted by"]
    assert [row["Customer account"] for row in rows] == ["Initech (initech.example)", "Globex (globex.example)",
                                                         "Acme (acme.example)"]


MEMBER_KEYS = {
    "member": lambda m: m.user.email,
    "role": lambda m: m.is_admin,
    "since": lambda m: m.created_at,
}


def test_partner_members_sort_by_every_sortable_column(as_user, partner, partner_admin, partner_member):
    PartnerMembershipFactory(partner=partner, user=UserFactory(email="abe@northwind.example"))
    PartnerMembership.objects.filter(user=partner_member).update(created_at=timezone.now() - datetime.timedelta(days=9))
    assert set(MEMBER_KEYS) == _sortable(PartnerMemberTable)

    _check_sorts(as_user(partner_admin), PARTNER, "members_table", MEMBER_KEYS)


@pytest.mark.parametrize("url", [CUSTOMERS, PARTNER])
def test_sorted_partner_lists_run_the_queries_of_the_unsorted_ones(as_user, partner_member, customers, url):
    client = as_user(partner_member)
    unsorted = count_queries(client, url)[0]

    for sort in ("user", "-granted", "member", "-since", "nope"):
        assert count_queries(client, f"{url}?sort={sort}")[0] == unsorted, sort


CASE_KEYS = {
    "case": lambda c: c.pk,
    "about": lambda c: (c.smart_account.name if c.smart_account else "", c.order_number),  # general cases first
    "status": lambda c: c.status,
    "messages": lambda c: c.message_count,
    "updated": lambda c: c.updated_at,
}


def test_support_cases_sort_by_every_sortable_column_without_a_query_more(as_user, partner_member):
    now = timezone.now()
    for i, (account, order, status, messages) in enumerate(
        (("Globex", "", "open", 2), (None, "SO-9", "waiting", 0), ("Acme", "SO-1", "resolved", 1))
    ):
        case = SupportCaseFactory(user=partner_member, order_number=order, status=status,
                                  smart_account=SmartAccountFactory(name=account) if account else None)
        for _ in range(messages):
            SupportMessageFactory(case=case)
        SupportCase.objects.filter(pk=case.pk).update(updated_at=now - datetime.timedelta(days=(i * 2) % 3))
    assert set(CASE_KEYS) == _sortable(SupportCaseTable)
    client = as_user(partner_member)

    _check_sorts(client, "/support/", "table", CASE_KEYS)
    unsorted = count_queries(client, "/support/")[0]
    assert all(count_queries(client, f"/support/?sort={sort}")[0] == unsorted for sort in ("-messages", "about", "nope"))


# --- API keys -----------------------------------------------------------------------------------


@pytest.fixture
def api_keys(user):
    """Three keys of `user` made on different days: one active and never used, one expired, one revoked."""
    now = timezone.now()
    ago = datetime.timedelta
    made = [
        ApiKeyFactory(user=user, name="beta sync", expires_at=None),
        ApiKeyFactory(user=user, name="alpha import", expires_at=now - ago(days=1), last_used_at=now - ago(days=2)),
        ApiKeyFactory(user=user, name="gamma report", expires_at=now + ago(days=30), last_used_at=now - ago(hours=1),
                      revoked_at=now - ago(hours=1), revoked_reason="Revoked by you."),
    ]
    for days, key in zip((5, 9, 2), made):
        ApiKey.objects.filter(pk=key.pk).update(created_at=now - datetime.timedelta(days=days))
    return made


API_KEY_KEYS = {
    "name": lambda k: k.name,
    "created": lambda k: k.created_at,
    "last_used": lambda k: (k.last_used_at is not None, k.last_used_at or k.created_at),  # never used first
    "expires": lambda k: (k.expires_at is None, k.expires_at or k.created_at),  # never expiring last
    "status": lambda k: k.state,
}


def test_api_keys_sort_by_every_sortable_column_both_ways(as_user, user, api_keys):
    assert set(API_KEY_KEYS) == _sortable(ApiKeyTable)

    _check_sorts(as_user(user), API_KEYS, "table", API_KEY_KEYS)


def test_api_keys_ignore_an_unknown_sort_and_keep_the_newest_first(as_user, user, api_keys):
    client = as_user(user)
    unsorted = [k.name for k in client.get(API_KEYS).context["keys"]]

    assert unsorted == ["gamma report", "beta sync", "alpha import"]
    for bad in ("nope", "prefix", "-key_hash", "actions"):
        assert [k.name for k in client.get(API_KEYS, {"sort": bad}).context["keys"]] == unsorted, bad


def test_api_key_csv_lists_name_dates_and_status_in_the_sort_order(as_user, user, api_keys):
    rows = _csv(as_user(user).get(API_KEYS, {"sort": "name", "_export": "csv"}))

    assert list(rows[0]) == ["Name", "Created", "Last used", "Expires", "Status"]
    assert [row["Name"] for row in rows] == ["alpha import", "beta sync", "gamma report"]
    assert [row["Status"].split(" ")[0] for row in rows] == ["expired", "active", "revoked"]
    assert rows[1]["Last used"] == "never" and rows[1]["Expires"] == "never" and "Revoked by you." in rows[2]["Status"]


def test_api_key_csv_never_holds_a_key_or_its_first_characters(as_user, user, api_keys):
    response = as_user(user).get(API_KEYS, {"_export": "csv"})
    content = b"".join(response.streaming_content).decode()

    assert "no-store" in response["Cache-Control"]
    for key in api_keys:
        assert key.key not in content and key.prefix not in content and key.key_hash not in content
    assert "slp_" not in content


def test_api_key_csv_is_only_of_ones_own_keys(as_user, user, api_keys):
    ApiKeyFactory(name="someone else's")

    rows = _csv(as_user(user).get(API_KEYS, {"_export": "csv"}))

    assert {row["Name"] for row in rows} == {"alpha import", "beta sync", "gamma report"}


def test_api_key_sort_links_and_csv_link_keep_the_sort(as_user, user, api_keys):
    page = as_user(user).get(API_KEYS, {"sort": "-created"}).content.decode()

    assert 'href="?sort=created"' in page and 'aria-sort="descending"' in page
    assert 'href="?sort=-created&amp;_export=csv"' in page


def test_the_sorted_api_key_list_and_its_csv_run_a_fixed_number_of_queries(as_user, user):
    client = as_user(user)
    counts = []
    for size in (2, 18):
        for i in range(size):
            ApiKeyFactory(user=user, last_used_at=timezone.now() if i % 2 else None)
        counts.append(tuple(count_queries(client, f"{API_KEYS}?sort={sort}")[0]
                            for sort in ("", "name", "-expires", "status", "nope", "last_used&_export=csv")))
    assert counts[0] == counts[1]
    assert len(set(counts[0][:5])) == 1  # sorting adds no query


# --- the members of a partner's holding accounts --------------------------------------------------


@pytest.fixture
def holdings(partner, partner_admin, partner_member):
    """Two holding accounts; `Northwind parking` has three members who joined on different days."""
    parking = HoldingAccountFactory(name="Northwind parking", partner=partner)
    other = HoldingAccountFactory(name="Northwind annex", partner=partner)
    now = timezone.now()
    for days, user, notify in ((3, partner_member, False), (8, partner_admin, True),
                               (1, PartnerMembershipFactory(partner=partner, user=UserFactory(email="abe@northwind.example")).user, True)):
        membership = HoldingMembershipFactory(smart_account=parking, user=user, notify=notify)
        HoldingMembership.objects.filter(pk=membership.pk).update(created_at=now - datetime.timedelta(days=days))
    HoldingMembershipFactory(smart_account=other, user=partner_member, notify=True)
    HoldingMembershipFactory(smart_account=other, user=partner_admin, notify=False)
    return parking, other


HOLDING_KEYS = {
    "member": lambda m: m.user.email,
    "notify": lambda m: m.notify,
    "joined": lambda m: m.created_at,
}


def test_holding_members_sort_by_every_sortable_column_within_each_account(as_user, partner_admin, holdings):
    assert set(HOLDING_KEYS) == _sortable(HoldingMemberTable)
    client = as_user(partner_admin)
    for column, key in HOLDING_KEYS.items():
        for sort in (column, f"-{column}"):
            accounts = client.get(HOLDING, {"sort": sort}).context["accounts"]
            assert [sa.name for sa in accounts] == ["Northwind annex", "Northwind parking"], sort  # still by name
            assert [len(sa.members) for sa in accounts] == [2, 3], sort
            for sa in accounts:
                values = [key(m) for m in sa.members]
                assert values == sorted(values, reverse=sort.startswith("-")), sort
                assert [row.record for row in sa.members_table.rows] == sa.members, sort


def test_holding_members_ignore_an_unknown_sort(as_user, partner_admin, holdings):
    client = as_user(partner_admin)
    unsorted = [[m.pk for m in sa.members] for sa in client.get(HOLDING).context["accounts"]]

    assert [m.user.email for m in client.get(HOLDING).context["accounts"][1].members] == [
        "abe@northwind.example", "boss@northwind.example", "pat@northwind.example"]  # by email
    for bad in ("nope", "holding_account", "actions", "-user__password"):
        assert [[m.pk for m in sa.members] for sa in client.get(HOLDING, {"sort": bad}).context["accounts"]] == unsorted, bad


def test_holding_member_sort_links_and_csv_link_keep_the_sort(as_user, partner_admin, holdings):
    page = as_user(partner_admin).get(HOLDING, {"sort": "-joined"}).content.decode()

    assert page.count('href="?sort=joined"') == 2 and page.count('aria-sort="descending"') == 2  # one table per account
    assert 'href="?sort=-joined&amp;_export=csv"' in page


def test_holding_member_csv_lists_every_accounts_members_grouped_in_the_sort_order(as_user, partner_member, holdings):
    rows = _csv(as_user(partner_member).get(HOLDING, {"sort": "-joined", "_export": "csv"}))

    assert list(rows[0]) == ["Member", "Holding account", "Order emails", "Joined"]
    assert [(row["Holding account"], row["Member"]) for row in rows][2:] == [
        ("Northwind parking", "abe@northwind.example"), ("Northwind parking", "pat@northwind.example"),
        ("Northwind parking", "boss@northwind.example")]
    assert {row["Holding account"] for row in rows[:2]} == {"Northwind annex"}
    assert rows[3]["Order emails"] == "no" and rows[2]["Order emails"] == "yes"


def test_holding_member_remove_buttons_are_for_partner_admins_only(as_user, partner_admin, partner_member, holdings):
    parking, _ = holdings
    pat = HoldingMembership.objects.get(smart_account=parking, user=partner_member)

    admin_page = as_user(partner_admin).get(HOLDING).content.decode()
    member_page = as_user(partner_member).get(HOLDING).content.decode()

    assert 'aria-label="Remove pat@northwind.example from Northwind parking"' in admin_page
    assert 'aria-label="Remove ' not in member_page
    assert f'action="{reverse("accounts:holding_member_remove", args=[pat.pk])}"' in member_page  # her own Leave


def test_the_sorted_holding_list_and_its_csv_run_a_fixed_number_of_queries(as_user, partner, partner_admin):
    client = as_user(partner_admin)
    first = HoldingAccountFactory(partner=partner, name="Holding 000")
    counts = []
    for size in (2, 12):
        for _ in range(size):
            member = PartnerMembershipFactory(partner=partner).user
            HoldingMembershipFactory(smart_account=HoldingAccountFactory(partner=partner), user=member)
            HoldingMembershipFactory(smart_account=first, user=member)
        counts.append(tuple(count_queries(client, f"{HOLDING}?sort={sort}")[0]
                            for sort in ("", "member", "-joined", "notify", "nope", "joined&_export=csv")))
    assert counts[0] == counts[1]
    assert len(set(counts[0][:5])) == 1  # sorting adds no query


# --- the user's Smart Accounts -----------------------------------------------------------------


@pytest.fixture
def my_accounts(partner, partner_member):
    """pat sees three customer accounts (one suspended) and her partner's holding account."""
    for name, domain, status in (("Globex", "globex.example", "active"), ("Acme", "zeta.example", "suspended"),
                                 ("Initech", "initech.example", "active")):
        SmartAccountRoleFactory(user=partner_member, content_object=SmartAccountFactory(name=name, domain=domain, status=status),
                                role=Role.SA_VIEWER)
    HoldingMembershipFactory(smart_account=HoldingAccountFactory(name="Northwind parking", partner=partner), user=partner_member)
    SmartAccountFactory(name="Hidden", domain="hidden.example")  # not hers
    return partner_member


ACCOUNT_KEYS = {
    "name": lambda sa: sa.name,
    "kind": lambda sa: sa.kind,
    "domain": lambda sa: sa.domain,
    "status": lambda sa: sa.status,
}


def test_smart_accounts_sort_by_every_sortable_column_both_ways(as_user, my_accounts):
    assert set(ACCOUNT_KEYS) == _sortable(SmartAccountTable)

    _check_sorts(as_user(my_accounts), ACCOUNTS, "table", ACCOUNT_KEYS)


def test_smart_accounts_ignore_an_unknown_sort_and_keep_customers_first(as_user, my_accounts):
    client = as_user(my_accounts)
    unsorted = [sa.name for sa in client.get(ACCOUNTS).context["accounts"]]

    assert unsorted == ["Acme", "Globex", "Initech", "Northwind parking"]
    for bad in ("nope", "partner", "-partner__name", ""):
        assert [sa.name for sa in client.get(ACCOUNTS, {"sort": bad}).context["accounts"]] == unsorted, bad


def test_smart_account_sort_links_and_csv_link_keep_the_sort(as_user, my_accounts):
    page = as_user(my_accounts).get(ACCOUNTS, {"sort": "-domain"}).content.decode()

    assert 'href="?sort=domain"' in page and 'aria-sort="descending"' in page
    assert 'href="?sort=-domain&amp;_export=csv"' in page


def test_smart_account_csv_has_the_shown_columns_and_only_her_accounts(as_user, my_accounts):
    rows = _csv(as_user(my_accounts).get(ACCOUNTS, {"sort": "-domain", "_export": "csv"}))

    assert list(rows[0]) == ["Name", "Kind", "Domain", "Status"]
    assert [row["Name"] for row in rows] == ["Acme", "Initech", "Globex", "Northwind parking"]  # no domain: last
    assert rows[0]["Status"] == "suspended" and rows[3]["Kind"] == "Holding (Northwind Networks)" and rows[1]["Kind"] == "Customer"


def test_the_sorted_smart_account_list_and_its_csv_run_a_fixed_number_of_queries(as_user, partner, partner_member):
    client = as_user(partner_member)
    counts = []
    for size in (2, 12):
        for i in range(size):
            SmartAccountRoleFactory(user=partner_member, content_object=SmartAccountFactory(), role=Role.SA_USER)
            HoldingMembershipFactory(smart_account=HoldingAccountFactory(partner=partner), user=partner_member)
        counts.append(tuple(count_queries(client, f"{ACCOUNTS}?sort={sort}")[0]
                            for sort in ("", "name", "-kind", "status", "nope", "domain&_export=csv")))
    assert counts[0] == counts[1]
    assert len(set(counts[0][:5])) == 1  # sorting adds no query
