"""Granting and revoking roles on the users page: the least privilege is what a form offers first,
an admin role is granted only after a confirmation that says what it allows, a revocation is
confirmed before it is sent, and a refused grant keeps what was typed with the error next to its
field (issue 12, items 1 and 5)."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Role, SmartAccountRole, VirtualAccountRole
from tests.factories import AccessRequestFactory, UserFactory
from tests.html import field_error, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    alice = UserFactory(email="alice@acme.example")
    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=alice)
    us = services.virtual_account_create(parent=sa.default_virtual_account, name="US", actor=alice)
    return {"sa": sa, "alice": alice, "us": us}


def _users_page(client, acme) -> str:
    return html(client.get(reverse("accounts:smart_account_users", args=[acme["sa"].pk])))


def _selected(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select)


def test_the_grant_form_preselects_a_viewer_not_an_admin(client, acme):
    client.force_login(acme["alice"])

    assert _selected(_users_page(client, acme), "id_role") == [Role.SA_VIEWER]


def test_a_virtual_account_admins_grant_form_preselects_a_virtual_account_viewer(client, acme):
    val = UserFactory(email="val@acme.example")
    services.role_grant(smart_account=acme["sa"], email=val.email, role=Role.VA_ADMIN, virtual_account=acme["us"],
                        actor=acme["alice"])
    client.force_login(val)

    assert _selected(_users_page(client, acme), "id_role") == [Role.VA_VIEWER]


def test_an_access_request_is_offered_as_a_viewer_of_what_it_asks_for(client, acme):
    whole = AccessRequestFactory(smart_account=acme["sa"], requester=UserFactory(email="wes@acme.example"))
    part = AccessRequestFactory(smart_account=acme["sa"], requester=UserFactory(email="uma@acme.example"))
    part.requested_virtual_accounts.add(acme["us"])
    client.force_login(acme["alice"])

    page = _users_page(client, acme)

    assert _selected(page, f"role-{whole.pk}") == [Role.SA_VIEWER]
    assert _selected(page, f"role-{part.pk}") == [Role.VA_VIEWER]
    assert _selected(page, f"vas-{part.pk}") == [str(acme["us"].pk)]


def test_granting_a_smart_account_admin_asks_first_and_grants_nothing_until_confirmed(client, acme):
    UserFactory(email="bob@acme.example")
    client.force_login(acme["alice"])
    url = reverse("accounts:role_grant", args=[acme["sa"].pk])

    asked = client.post(url, {"user_email": "bob@acme.example", "role": Role.SA_ADMIN})

    assert asked.status_code == 200
    page = html(asked)
    assert "Make bob@acme.example Smart Account admin of Acme?" in page
    assert "grant and revoke every role" in page  # says what the role allows
    assert 'name="confirmed" value="on"' in page and 'name="user_email" value="bob@acme.example"' in page
    assert not SmartAccountRole.objects.filter(user__email="bob@acme.example").exists()

    done = client.post(url, {"user_email": "bob@acme.example", "role": Role.SA_ADMIN, "confirmed": "on"})

    assert done.status_code == 302
    assert SmartAccountRole.objects.get(user__email="bob@acme.example").permission.codename == Role.SA_ADMIN


def test_granting_a_virtual_account_admin_asks_first_naming_the_subtree(client, acme):
    UserFactory(email="bob@acme.example")
    client.force_login(acme["alice"])

    asked = client.post(reverse("accounts:role_grant", args=[acme["sa"].pk]),
                        {"user_email": "bob@acme.example", "role": Role.VA_ADMIN, "virtual_account": acme["us"].pk})

    assert "Make bob@acme.example Virtual Account admin of US?" in html(asked)
    assert not VirtualAccountRole.objects.filter(user__email="bob@acme.example").exists()


def test_a_viewer_or_user_role_is_granted_without_a_confirmation_step(client, acme):
    UserFactory(email="bob@acme.example")
    client.force_login(acme["alice"])

    done = client.post(reverse("accounts:role_grant", args=[acme["sa"].pk]),
                       {"user_email": "bob@acme.example", "role": Role.SA_USER})

    assert done.status_code == 302
    assert SmartAccountRole.objects.filter(user__email="bob@acme.example").exists()


def test_approving_a_request_as_admin_asks_first(client, acme):
    request = AccessRequestFactory(smart_account=acme["sa"], requester=UserFactory(email="wes@acme.example"))
    client.force_login(acme["alice"])
    url = reverse("accounts:access_request_approve", args=[request.pk])

    asked = client.post(url, {"role": Role.SA_ADMIN})

    assert "Make wes@acme.example Smart Account admin of Acme?" in html(asked)
    request.refresh_from_db()
    assert request.status == "pending"

    assert client.post(url, {"role": Role.SA_ADMIN, "confirmed": "on"}).status_code == 302
    request.refresh_from_db()
    assert request.status == "approved"


def test_a_revocation_is_confirmed_before_it_is_sent(client, acme):
    bob = UserFactory(email="bob@acme.example")
    services.role_grant(smart_account=acme["sa"], email=bob.email, role=Role.SA_USER, virtual_account=None, actor=acme["alice"])
    row = SmartAccountRole.objects.get(user=bob)
    client.force_login(acme["alice"])

    page = _users_page(client, acme)

    form = re.search(rf'<form[^>]*action="{reverse("accounts:role_revoke", args=[row.pk])}"[^>]*>', page).group(0)
    assert 'data-confirm="Revoke the role' in form and "bob@acme.example" in form


def test_a_refused_grant_shows_the_error_next_to_the_field_and_keeps_what_was_typed(client, acme):
    client.force_login(acme["alice"])

    response = client.post(reverse("accounts:role_grant", args=[acme["sa"].pk]),
                           {"user_email": "nobody@elsewhere.example", "role": Role.SA_USER})

    assert response.status_code == 200
    assert field_error(response, "id_user_email") == "No registered user has the email address nobody@elsewhere.example."
    page = html(response)
    assert 'value="nobody@elsewhere.example"' in page
    assert _selected(page, "id_role") == [Role.SA_USER]
    assert "None A Virtual Account" not in page


def test_a_virtual_account_role_without_its_virtual_account_is_refused_on_that_field(client, acme):
    UserFactory(email="bob@acme.example")
    client.force_login(acme["alice"])

    response = client.post(reverse("accounts:role_grant", args=[acme["sa"].pk]),
                           {"user_email": "bob@acme.example", "role": Role.VA_VIEWER})

    assert response.status_code == 200
    assert field_error(response, "id_virtual_account")
    assert 'value="bob@acme.example"' in html(response)
    assert not VirtualAccountRole.objects.filter(user__email="bob@acme.example").exists()
