"""/partner/customers/: the roles the partner's users hold in customer Smart Accounts."""
from datetime import timedelta

import pytest

from accounts.models import Role, SmartAccountRole, VirtualAccountRole
from accounts.selectors import partner_customer_roles
from tests.factories import (
    HoldingAccountFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)

from tests.querycount import count_queries
from .conftest import html

pytestmark = pytest.mark.django_db

URL = "/partner/customers/"


@pytest.fixture
def world(partner, partner_admin, partner_member, other_partner_member, user):
    """Acme: pat has sa_user (granted by Acme's admin); Southwind's sam and an outsider have roles too.
    Globex: the partner admin has va_viewer on Finance."""
    acme = SmartAccountFactory(name="Acme", domain="acme.example")
    acme_admin = UserFactory(email="admin@acme.example")
    SmartAccountRoleFactory(user=acme_admin, content_object=acme, role=Role.SA_ADMIN)
    SmartAccountRoleFactory(user=partner_member, content_object=acme, role=Role.SA_USER, granted_by=acme_admin)
    SmartAccountRoleFactory(user=other_partner_member, content_object=acme, role=Role.SA_VIEWER)
    SmartAccountRoleFactory(user=user, content_object=acme, role=Role.SA_VIEWER)
    globex = SmartAccountFactory(name="Globex", domain="globex.example")
    finance = VirtualAccountFactory(parent=globex.default_virtual_account, name="Finance")
    VirtualAccountRoleFactory(user=partner_admin, content_object=finance, role=Role.VA_VIEWER)
    hidden = SmartAccountFactory(name="Initech", domain="initech.example")
    SmartAccountRoleFactory(user=other_partner_member, content_object=hidden, role=Role.SA_ADMIN)
    return acme, globex, finance


def test_lists_exactly_the_roles_of_the_partners_users(partner, world):
    rows = partner_customer_roles(partner=partner)

    assert [(r.smart_account.name, r.user.email, r.role, r.scope) for r in rows] == [
        ("Acme", "pat@northwind.example", "sa_user", "Whole account"),
        ("Globex", "boss@northwind.example", "va_viewer", "Finance"),
    ]


def test_page_shows_user_role_scope_and_who_granted_it(as_user, partner_member, world):
    page = html(as_user(partner_member).get(URL))

    assert "2 customer accounts" in page and "2 roles" in page
    for text in ("Acme", "pat@northwind.example", "Smart Account user", "Whole account", "admin@acme.example",
                 "Globex", "boss@northwind.example", "Virtual Account viewer", "Finance"):
        assert text in page


def test_another_partners_roles_never_show(as_user, partner_member, world):
    page = html(as_user(partner_member).get(URL))

    assert "sam@southwind.example" not in page
    assert "Initech" not in page
    assert "user@example.com" not in page


def test_account_links_only_where_the_viewer_may_open_it(as_user, partner_member, world):
    acme, globex, _ = world

    page = html(as_user(partner_member).get(URL))

    assert f'href="/sa/{acme.pk}/"' in page
    assert f'href="/sa/{globex.pk}/"' not in page  # the role is the partner admin's, not pat's


def test_holding_accounts_are_not_customers(as_user, partner, partner_member):
    HoldingAccountFactory(partner=partner)

    assert partner_customer_roles(partner=partner) == []


def test_no_roles_yet_says_how_to_get_one(as_user, partner_member):
    page = html(as_user(partner_member).get(URL))

    assert "No customer has given your team a role yet" in page
    assert "Find a customer&#x27;s account" in page or "Find a customer's account" in page


def test_customers_we_manage_lists_only_roles_granted_during_membership(as_user, partner, partner_admin):
    # A newcomer's roles from before they joined are theirs, not the partner's business.
    nina = UserFactory(email="nina@example.org")
    before = SmartAccountFactory(name="Before Ltd")
    SmartAccountRoleFactory(user=nina, content_object=before, role=Role.SA_ADMIN)
    old_va = VirtualAccountFactory(parent=SmartAccountFactory(name="Old Corp").default_virtual_account, name="Old VA")
    VirtualAccountRoleFactory(user=nina, content_object=old_va, role=Role.VA_ADMIN)
    joined = PartnerMembershipFactory(partner=partner, user=nina).created_at
    for model in (SmartAccountRole, VirtualAccountRole):
        model.objects.filter(user=nina).update(granted_at=joined - timedelta(days=1))
    SmartAccountRoleFactory(user=nina, content_object=SmartAccountFactory(name="After Inc"), role=Role.SA_USER)

    rows = partner_customer_roles(partner=partner)

    assert [(r.smart_account.name, r.user.email, r.role) for r in rows] == [("After Inc", "nina@example.org", "sa_user")]
    page = html(as_user(partner_admin).get(URL))
    assert "After Inc" in page
    assert "Before Ltd" not in page and "Old Corp" not in page and "Old VA" not in page


def _roles(partner, count: int) -> None:
    """`count` roles of the partner's users: half SA roles, half VA roles, in separate accounts."""
    members = [PartnerMembershipFactory(partner=partner).user for _ in range(3)]
    for i in range(count // 2):
        SmartAccountRoleFactory(user=members[i % 3], content_object=SmartAccountFactory(), role=Role.SA_VIEWER,
                                granted_by=UserFactory())
        VirtualAccountRoleFactory(user=members[(i + 1) % 3], content_object=VirtualAccountFactory(), role=Role.VA_USER,
                                  granted_by=UserFactory())


@pytest.mark.parametrize("count", [2, 20])
def test_customers_page_runs_a_constant_number_of_queries(as_user, partner, partner_member, count):
    _roles(partner, count)
    client = as_user(partner_member)

    queries, response = count_queries(client, URL)

    assert html(response).count("<tr>") == count + 1  # header row + one per role
    # 1 session, 2 user, 3 the user's partner membership, 4 its partner, 5 SA roles,
    # 6 VA roles, 7 which of the accounts the viewer may open, 8 the account switcher.
    assert queries == 8
