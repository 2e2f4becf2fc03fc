"""The Smart Account pages: find, create, request, activate, the tree, Virtual Accounts, users
and roles — as a person in a browser meets them (rules of DESIGN.md §3–4, flows 1–4 and 9)."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import (
    AccessRequest,
    Event,
    Role,
    SmartAccount,
    SmartAccountStatus,
    VirtualAccount,
)
from tests.factories import PartnerFactory, PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    """Acme with DEFAULT > US > Finance > Sacramento and DEFAULT > EMEA; alice is SA admin."""
    alice = UserFactory(email="alice@acme.example")
    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=alice)
    root = sa.default_virtual_account
    us = services.virtual_account_create(parent=root, name="US", actor=alice)
    finance = services.virtual_account_create(parent=us, name="Finance", actor=alice)
    sacramento = services.virtual_account_create(parent=finance, name="Sacramento", actor=alice)
    emea = services.virtual_account_create(parent=root, name="EMEA", actor=alice)
    return {"sa": sa, "alice": alice, "root": root, "us": us, "finance": finance, "sacramento": sacramento, "emea": emea}


def _grant(acme, email, role, va=None):
    user = UserFactory(email=email)
    services.role_grant(smart_account=acme["sa"], email=email, role=role, virtual_account=va, actor=acme["alice"])
    return user


def test_anonymous_pages_redirect_to_login(client, acme):
    for url in ["/sa/", f"/sa/{acme['sa'].pk}/", f"/sa/{acme['sa'].pk}/users/", "/sa/find/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_account_invisible_to_outsider_is_404(client, acme):
    client.force_login(UserFactory(email="eve@other.example"))
    assert client.get(f"/sa/{acme['sa'].pk}/").status_code == 404
    assert client.get(f"/sa/virtual-accounts/{acme['us'].pk}/edit/").status_code == 404
    assert client.post(f"/sa/virtual-accounts/{acme['us'].pk}/delete/").status_code == 404


def _children_url(acme, va) -> str:
    return f"/sa/{acme['sa'].pk}/tree/{va.pk}/children/"


def test_sa_viewer_sees_tree_but_may_not_manage_users(client, acme):
    viewer = _grant(acme, "vic@acme.example", Role.SA_VIEWER)
    client.force_login(viewer)
    page = client.get(f"/sa/{acme['sa'].pk}/")
    assert page.status_code == 200
    # The top of the tree; the rest comes from the expand controls, a level at a time.
    assert b"US" in page.content and b"EMEA" in page.content and b"Sacramento" not in page.content
    assert f'hx-get="{_children_url(acme, acme["us"])}"'.encode() in page.content
    us_children = client.get(_children_url(acme, acme["us"])).content.decode()
    assert "Finance" in us_children and f'hx-get="{_children_url(acme, acme["finance"])}"' in us_children
    assert b"Sacramento" in client.get(_children_url(acme, acme["finance"])).content
    assert client.get(f"/sa/{acme['sa'].pk}/users/").status_code == 403
    assert client.post(f"/sa/virtual-accounts/{acme['us'].pk}/delete/").status_code == 403


def test_va_user_sees_own_subtree_and_the_path_above_only_as_navigation(client, acme):
    bob = _grant(acme, "bob@acme.example", Role.VA_USER, acme["finance"])
    client.force_login(bob)
    html = client.get(f"/sa/{acme['sa'].pk}/").content.decode()
    # The page opens down to bob's VA and its children.
    assert "Finance" in html and "Sacramento" in html
    assert "EMEA" not in html
    assert client.get(_children_url(acme, acme["emea"])).status_code == 404
    assert "EMEA" not in client.get(_children_url(acme, acme["root"])).content.decode()
    # US is on the path: its name is shown, greyed, with no counts.
    assert re.search(r'title="Shown for navigation only">US<', html)


def test_create_account_for_yourself_makes_you_admin(client):
    carol = UserFactory(email="carol@globex.example")
    client.force_login(carol)
    response = client.post("/sa/new/", {"name": "Globex", "domain": "GLOBEX.example"})
    sa = SmartAccount.objects.get(name="Globex")
    assert response.status_code == 302 and response["Location"] == f"/sa/{sa.pk}/"
    assert sa.status == SmartAccountStatus.ACTIVE and sa.domain == "globex.example"
    assert ("sa_admin", None) in [(r, v) for r, v in __import__("accounts.permissions").permissions.roles_of(carol, sa)]


def test_create_account_for_another_domain_shows_error_next_to_domain(client):
    client.force_login(UserFactory(email="carol@globex.example"))
    response = client.post("/sa/new/", {"name": "Sneaky", "domain": "acme.example"})
    assert response.status_code == 200
    assert "only for your own domain" in response.content.decode()
    assert not SmartAccount.objects.filter(name="Sneaky").exists()


def test_request_for_customer_checks_contact_domain_next_to_field(client):
    partner_user = UserFactory(email="pat@contoso.example")
    PartnerMembershipFactory(user=partner_user, partner=PartnerFactory(name="Contoso"))
    UserFactory(email="dana@initech.example")
    client.force_login(partner_user)
    response = client.post("/sa/request/", {"name": "Initech", "domain": "initech.com", "contact_email": "dana@initech.example"})
    assert response.status_code == 200
    assert "must be the account&#x27;s domain" in response.content.decode()
    assert not SmartAccount.objects.exists()


def test_request_then_activate_through_the_emailed_link_grants_partner_role(client, mailoutbox, django_capture_on_commit_callbacks):
    partner_user = UserFactory(email="pat@contoso.example")
    PartnerMembershipFactory(user=partner_user, partner=PartnerFactory(name="Contoso"))
    dana = UserFactory(email="dana@initech.example")
    client.force_login(partner_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sa/request/", {"name": "Initech", "domain": "initech.example", "contact_email": "dana@initech.example"})
    assert response.status_code == 302
    sa = SmartAccount.objects.get(name="Initech")
    assert sa.status == SmartAccountStatus.NEW
    link = re.search(r"http://\S+/invite/\S+/", mailoutbox[-1].body).group(0)
    path = "/" + link.split("/", 3)[3]

    # Someone else following the link is turned away.
    client.force_login(partner_user)
    assert client.get(path, follow=True).status_code == 403

    client.force_login(dana)
    page = client.get(path, follow=True)
    assert page.status_code == 200 and b"Activate Initech" in page.content
    activate_url = page.redirect_chain[-1][0]
    response = client.post(activate_url, {"grant_partner_role": "sa_user"})
    assert response.status_code == 302
    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.ACTIVE
    client.force_login(partner_user)
    assert client.get(f"/sa/{sa.pk}/").status_code == 200
    # The link is single-use.
    client.force_login(dana)
    assert client.get(path).status_code == 410


def test_find_by_domain_then_request_access_and_admin_approves_exact_scope(client, acme, mailoutbox):
    frank = UserFactory(email="frank@acme.example")
    client.force_login(frank)
    page = client.get("/sa/find/", {"domain": "ACME.example"})
    assert b"Request access" in page.content and str(acme["sa"].pk).encode() in page.content
    (link,) = re.findall(r'href="(/sa/request-access/[^"]+)"', page.content.decode())
    client.post(link, {"scope": "part", "scope_wanted": "EMEA", "message": "EMEA ops"})
    request = AccessRequest.objects.get(requester=frank)
    client.force_login(acme["alice"])
    users_page = client.get(f"/sa/{acme['sa'].pk}/users/")
    assert b"frank@acme.example" in users_page.content and "“EMEA”".encode() in users_page.content
    client.post(f"/sa/requests/{request.pk}/approve/", {"role": "va_viewer", "virtual_accounts": [acme["emea"].pk]})
    request.refresh_from_db()
    assert request.status == "approved"
    client.force_login(frank)
    html = client.get(f"/sa/{acme['sa'].pk}/").content.decode()
    assert "EMEA" in html and "Sacramento" not in html
    assert Event.objects.filter(action="access_request.approved").exists()


def test_revoking_a_role_on_the_page_removes_access_at_once(client, acme):
    bob = _grant(acme, "bob@acme.example", Role.SA_USER)
    row = bob.smartaccountrole_set.get()
    client.force_login(acme["alice"])
    client.post(f"/sa/roles/{row.pk}/revoke/")
    client.force_login(bob)
    assert client.get(f"/sa/{acme['sa'].pk}/").status_code == 404


def test_va_admin_cannot_grant_sa_roles(client, acme):
    vadmin = _grant(acme, "val@acme.example", Role.VA_ADMIN, acme["us"])
    UserFactory(email="new@acme.example")
    client.force_login(vadmin)
    response = client.post(f"/sa/{acme['sa'].pk}/users/grant/", {"user_email": "new@acme.example", "role": "sa_admin"})
    assert response.status_code == 403
    response = client.post(f"/sa/{acme['sa'].pk}/users/grant/",
                           {"user_email": "new@acme.example", "role": "va_user", "virtual_account": acme["finance"].pk})
    assert response.status_code == 302
    assert Role.VA_USER in [r for r, _ in __import__("accounts.permissions").permissions.roles_of(
        __import__("accounts.models").models.User.objects.get(email="new@acme.example"), acme["sa"])]


def test_deleting_a_virtual_account_with_children_shows_a_clear_message(client, acme):
    client.force_login(acme["alice"])
    response = client.post(f"/sa/virtual-accounts/{acme['us'].pk}/delete/", follow=True)
    assert "still has Virtual Accounts below it" in response.content.decode()
    assert VirtualAccount.objects.filter(pk=acme["us"].pk).exists()


def test_moving_a_virtual_account_under_its_descendant_is_refused_on_the_form(client, acme):
    client.force_login(acme["alice"])
    response = client.post(f"/sa/virtual-accounts/{acme['us'].pk}/edit/",
                           {"name": "US", "parent": acme["sacramento"].pk, "description": ""})
    # The descendant is not even offered as a parent: the form rejects the choice.
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    acme["us"].refresh_from_db()
    assert acme["us"].parent_id == acme["root"].pk


def _tree(alice, root, count):
    parents = [root]
    for i in range(count):
        parent = parents[i // 3]  # three children each: depth grows with the count
        parents.append(services.virtual_account_create(parent=parent, name=f"VA {i}", actor=alice))


@pytest.mark.parametrize("role", [Role.SA_ADMIN, Role.VA_USER])
def test_tree_page_runs_a_constant_number_of_queries(client, role):
    """The page, the children of a node and the search, at 10 and at 500 Virtual Accounts: the
    same queries, and the page shows the same top of the tree."""
    counts, rows = [], []
    for size in (10, 500):
        alice = UserFactory()
        sa = services.smart_account_create(name=f"Big {size}", domain=alice.email_domain, actor=alice)
        _tree(alice, sa.default_virtual_account, size)
        viewer = alice
        if role == Role.VA_USER:
            viewer = UserFactory()
            first = VirtualAccount.objects.get(smart_account=sa, name="VA 0")
            services.role_grant(smart_account=sa, email=viewer.email, role=role, virtual_account=first, actor=alice)
        client.force_login(viewer)
        first = VirtualAccount.objects.get(smart_account=sa, name="VA 0")  # with three children at both sizes
        measured = {}
        for label, url in (("page", f"/sa/{sa.pk}/"), ("children", f"/sa/{sa.pk}/tree/{first.pk}/children/"),
                           ("search", f"/sa/{sa.pk}/tree/search/?q=VA+3")):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, url
            measured[label] = len(ctx.captured_queries)
            if label == "page":
                rows.append(response.content.count(b'data-level="'))
        counts.append(measured)
    assert counts[0] == counts[1], counts
    # The root and VA 0-2 for the admin; for the VA user the root (the path), VA 0 and its children.
    assert rows == [4, 4] if role == Role.SA_ADMIN else rows == [5, 5], rows


def test_creating_an_account_returns_to_a_safe_next_page_only(client):
    carol = UserFactory(email="carol@globex.example")
    client.force_login(carol)
    response = client.post("/sa/new/?next=/orders/delegated/", {"name": "Globex", "domain": "globex.example"})
    assert response["Location"] == "/orders/delegated/"
    response = client.post("/sa/new/?next=https://evil.example/", {"name": "Globex Two", "domain": "globex.example"})
    assert response["Location"] == f"/sa/{SmartAccount.objects.get(name='Globex Two').pk}/"
