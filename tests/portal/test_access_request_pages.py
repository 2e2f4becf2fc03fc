"""Asking for access on the pages (DESIGN.md §4 flow 1): the request page is reached from one's own
exact-domain search, shows the account as the search does (name, domain, status) and nothing of
its tree; the requester names the scope in words, the SA admin chooses the real one on approval."""
from __future__ import annotations

import re
import time
from unittest import mock

import pytest

from accounts import selectors
from accounts.models import AccessRequest, AccessRequestStatus, Role, VirtualAccountRole
from tests.factories import (
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)

pytestmark = pytest.mark.django_db

# Names no page chrome contains, so finding one in a page means the tree leaked.
TREE = ("Quarry", "Marble", "Granite", "Basalt")


@pytest.fixture
def acme(db):
    """Acme (acme.example): DEFAULT ─┬─ Quarry ── Marble, └─ Granite ── Basalt; ada is its SA admin."""
    sa = SmartAccountFactory(name="Acme", domain="acme.example")
    quarry = VirtualAccountFactory(parent=sa.default_virtual_account, name="Quarry")
    marble = VirtualAccountFactory(parent=quarry, name="Marble")
    sa.default_virtual_account.refresh_from_db()
    granite = VirtualAccountFactory(parent=sa.default_virtual_account, name="Granite")
    basalt = VirtualAccountFactory(parent=granite, name="Basalt")
    ada = UserFactory(email="ada@acme.example")
    SmartAccountRoleFactory(user=ada, content_object=sa, role=Role.SA_ADMIN)
    return {"sa": sa, "quarry": quarry, "marble": marble, "granite": granite, "basalt": basalt, "ada": ada}


@pytest.fixture
def frank(db):
    return UserFactory(email="frank@fabrikam.example")


def request_link(client, domain: str) -> str:
    """The "Request access" link of the (only) result of the caller's domain search."""
    page = client.get("/sa/find/", {"domain": domain})
    (link,) = re.findall(r'href="(/sa/request-access/[^"/]+/)"', page.content.decode())
    return link


def shows_no_tree(html: str) -> bool:
    return not any(name in html for name in TREE) and 'name="virtual_accounts"' not in html


def test_request_access_page_needs_a_domain_search_reference(client, acme, frank):
    client.force_login(frank)
    bare = f"/sa/{acme['sa'].pk}/request-access/"
    assert client.get(bare).status_code == 404
    assert client.post(bare, {"scope": "account"}).status_code == 404

    link = request_link(client, "ACME.example")
    page = client.get(link)
    assert page.status_code == 200
    assert "Request access to Acme" in page.content.decode()

    reference = link.split("/")[-2]
    for forged in (f"{acme['sa'].pk}", reference[:-1] + ("A" if reference[-1] != "A" else "B"),
                   reference.replace(reference.split(":")[0], "eyJzYSI6MX0")):
        response = client.get(f"/sa/request-access/{forged}/")
        assert response.status_code == 404, forged
        assert b"Acme" not in response.content
        assert client.post(f"/sa/request-access/{forged}/", {"scope": "account"}).status_code == 404
    assert not AccessRequest.objects.exists()


def test_a_reference_made_for_another_user_shows_nothing(client, acme, frank):
    client.force_login(UserFactory(email="grace@fabrikam.example"))
    link = request_link(client, "acme.example")

    client.force_login(frank)
    response = client.get(link)
    assert response.status_code == 404
    assert b"Acme" not in response.content
    assert client.post(link, {"scope": "account", "message": "Me too"}).status_code == 404
    assert not AccessRequest.objects.exists()


def test_an_expired_reference_shows_nothing(client, acme, frank):
    two_days_ago = time.time() - 2 * 24 * 3600
    with mock.patch("django.core.signing.time.time", return_value=two_days_ago):
        reference = selectors.search_reference(smart_account=acme["sa"], user=frank)
    client.force_login(frank)
    response = client.get(f"/sa/request-access/{reference}/")
    assert response.status_code == 404
    assert b"Acme" not in response.content


def test_request_access_page_shows_no_virtual_accounts_to_a_user_without_a_role(client, acme, frank):
    client.force_login(frank)
    page = client.get(request_link(client, "acme.example"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme" in html and "acme.example" in html
    assert shows_no_tree(html) and "DEFAULT" not in html
    # Posting the ids of Virtual Accounts names nothing: the request is for words, not ids.
    client.post(request_link(client, "acme.example"),
                {"scope": "account", "virtual_accounts": [acme["marble"].pk], "message": "Hi"})
    request = AccessRequest.objects.get(requester=frank)
    assert (request.scope_wanted, list(request.requested_virtual_accounts.all())) == ("", [])


def test_a_va_viewer_sees_no_sibling_virtual_accounts_on_the_request_page(client, acme):
    viewer = UserFactory(email="vic@acme.example")
    VirtualAccountRoleFactory(user=viewer, content_object=acme["quarry"], role=Role.VA_VIEWER)
    reference = selectors.search_reference(smart_account=acme["sa"], user=viewer)
    client.force_login(viewer)
    page = client.get(f"/sa/request-access/{reference}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Granite" not in html and "Basalt" not in html
    assert shows_no_tree(html)


def test_requester_names_the_scope_in_words_and_the_admin_chooses_it_on_approval(
    client, acme, frank, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(frank)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(request_link(client, "acme.example"),
                               {"scope": "part", "scope_wanted": "The marble quarry team", "message": "I run it."})
    assert response.status_code == 302
    request = AccessRequest.objects.get(requester=frank)
    assert (request.scope_wanted, request.message, request.status) == (
        "The marble quarry team", "I run it.", AccessRequestStatus.PENDING)
    assert "The marble quarry team" in mailoutbox[0].body
    # The requester's own lists say what was asked for.
    assert "The marble quarry team" in client.get("/sa/find/").content.decode()
    assert "The marble quarry team" in client.get("/sa/").content.decode()

    client.force_login(acme["ada"])
    users_page = client.get(f"/sa/{acme['sa'].pk}/users/").content.decode()
    assert "frank@fabrikam.example" in users_page and "The marble quarry team" in users_page
    client.post(f"/sa/requests/{request.pk}/approve/", {"role": "va_viewer", "virtual_accounts": [acme["marble"].pk]})
    request.refresh_from_db()
    assert (request.status, request.granted_role) == (AccessRequestStatus.APPROVED, Role.VA_VIEWER)
    assert [(r.content_object, r.permission.codename) for r in VirtualAccountRole.objects.filter(user=frank)] == [
        (acme["marble"], "va_viewer")]


def test_the_whole_account_is_asked_for_without_words(client, acme, frank):
    client.force_login(frank)
    client.post(request_link(client, "acme.example"), {"scope": "account", "scope_wanted": "ignored", "message": ""})
    assert AccessRequest.objects.get(requester=frank).scope_wanted == ""
    client.force_login(acme["ada"])
    assert "the whole account" in client.get(f"/sa/{acme['sa'].pk}/users/").content.decode()


@pytest.mark.parametrize("words, error", [
    ("", "Say which part of the account you need."),
    ("x" * 201, "at most 200 characters"),
    ("Stone\x07", "Remove the control characters"),
], ids=["none", "too-long", "control-character"])
def test_asking_for_part_of_the_account_needs_clean_words(client, acme, frank, words, error):
    client.force_login(frank)
    response = client.post(request_link(client, "acme.example"), {"scope": "part", "scope_wanted": words})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert shows_no_tree(response.content.decode())
    assert not AccessRequest.objects.exists()


def test_a_new_account_offers_no_request_until_it_is_activated(client, frank):
    new = SmartAccountFactory(name="Initech", domain="initech.example", new=True)
    client.force_login(frank)
    page = client.get("/sa/find/", {"domain": "initech.example"}).content.decode()
    assert "Initech" in page and "/sa/request-access/" not in page
    reference = selectors.search_reference(smart_account=new, user=frank)
    response = client.post(f"/sa/request-access/{reference}/", {"scope": "account"})
    assert response.status_code == 200
    assert "not active yet" in response.content.decode()
    assert not AccessRequest.objects.exists()
