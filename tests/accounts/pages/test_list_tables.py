"""The accounts lists are django-tables2 tables (accounts/tables.py): users and roles of a Smart
Account, a partner's members and the customer roles a partner manages. Each sorts by every
sortable column through `?sort=` (both ways), ignores a column it does not know, downloads its
rows as CSV with the columns it shows (not the buttons), and sorts without an extra query."""
import csv
import datetime
import io

import pytest
from django.utils import timezone

from accounts.models import PartnerMembership, Role, SmartAccountRole, SupportCase, VirtualAccountRole
from accounts.tables import PartnerCustomerTable, PartnerMemberTable, RoleTable, SupportCaseTable

from tests.factories import (
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
