"""/privacy/: download my data, close my account."""
import json

import pytest
from django.urls import reverse

from accounts.models import (
    ApiKey,
    Event,
    HoldingMembership,
    PartnerMembership,
    Role,
    SmartAccountRole,
    User,
    VirtualAccountRole,
)
from accounts.selectors import EVENTS_IN_EXPORT
from tests.factories import (
    DEFAULT_PASSWORD,
    AccessRequestFactory,
    ApiKeyFactory,
    EventFactory,
    HoldingMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)

from tests.reauth import reauthenticate
from .conftest import field_error, html

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db):
    return SmartAccountFactory(name="Acme", domain="acme.example")


@pytest.fixture
def colleague(acme):
    """Someone else in the same account, with a role and events of their own."""
    other = UserFactory(email="colleague@acme.example", name="Cole League")
    SmartAccountRoleFactory(user=other, content_object=acme, role=Role.SA_ADMIN)
    EventFactory(smart_account=acme, actor=other, actor_label=other.email, action="device.registered")
    return other


@pytest.fixture
def member(acme, colleague, partner, holding):
    """pat@northwind.example: sa_user on Acme (granted by the colleague), va_viewer on Acme/US,
    a holding membership, an access request, a support case, events and API keys."""
    user = UserFactory(email="pat@northwind.example", name="Pat Partner")
    PartnerMembership.objects.create(partner=partner, user=user)
    SmartAccountRoleFactory(user=user, content_object=acme, role=Role.SA_USER, granted_by=colleague)
    us = VirtualAccountFactory(parent=acme.default_virtual_account, name="US")
    VirtualAccountRoleFactory(user=user, content_object=us, role=Role.VA_VIEWER)
    HoldingMembershipFactory(smart_account=holding, user=user, notify=False)
    AccessRequestFactory(smart_account=SmartAccountFactory(name="Globex"), requester=user, message="Please let me in")
    case = SupportCaseFactory(user=user, subject="Licenses missing", smart_account=acme)
    SupportMessageFactory(case=case, body="Where are my 10 licenses?")
    SupportMessageFactory(case=case, author=UserFactory(email="agent@vendor.example", is_staff=True), from_staff=True,
                          body="Checking with agent@vendor.example's team now.")
    EventFactory(smart_account=acme, actor=user, actor_label=user.email, action="role.granted",
                 object_repr="colleague@acme.example: sa_viewer on Acme", detail={"user": "colleague@acme.example"})
    user.api_key = ApiKeyFactory(user=user, name="sync script")
    return user


def export(client) -> dict:
    response = client.get(reverse("accounts:privacy_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="smart-licensing-my-data-')
    return json.loads(response.content)


def test_export_contains_the_users_roles_with_their_scope(as_user, member):
    data = export(as_user(member))

    roles = {(r["smart_account"]["name"], r["role"], r["scope"], (r["virtual_account"] or {}).get("name")) for r in data["roles"]}
    assert roles == {("Acme", "sa_user", "account", None), ("Acme", "va_viewer", "virtual_account", "US")}
    assert data["profile"]["email"] == "pat@northwind.example"
    assert data["partner_membership"]["partner"] == "Northwind Networks"
    assert data["holding_memberships"] == [
        {"smart_account": data["holding_memberships"][0]["smart_account"], "partner": "Northwind Networks",
         "notify": False, "since": data["holding_memberships"][0]["since"]}
    ]
    assert data["access_requests"][0]["message"] == "Please let me in"
    assert [m["from"] for m in data["support_cases"][0]["messages"]] == ["you", "support"]
    assert [e["action"] for e in data["events"]] == ["role.granted"]
    assert data["api_keys"][0]["name"] == "sync script" and data["api_keys"][0]["prefix"] == member.api_key.prefix


def test_export_contains_no_other_users_data(as_user, member, colleague):
    response = as_user(member).get(reverse("accounts:privacy_export"))
    body = response.content.decode()

    assert "colleague@acme.example" not in body  # granted_by, event object and detail
    assert "Cole League" not in body
    assert "agent@vendor.example" not in body  # the staff author, even quoted in a reply
    assert "device.registered" not in body  # the colleague's event
    assert json.loads(body)["roles"][0]["granted_by"] in ("another user", "system")


def test_export_never_contains_api_key_secrets(as_user, member):
    body = as_user(member).get(reverse("accounts:privacy_export")).content.decode()

    assert member.api_key.key not in body
    assert ApiKey.objects.get(pk=member.api_key.pk).key_hash not in body


def test_export_holds_only_the_latest_events(as_user, user, acme, monkeypatch):
    assert EVENTS_IN_EXPORT == 1000
    monkeypatch.setattr("accounts.selectors.EVENTS_IN_EXPORT", 3)
    for i in range(5):
        EventFactory(smart_account=acme, actor=user, action=f"action.{i}")

    data = export(as_user(user))

    assert [e["action"] for e in data["events"]] == ["action.4", "action.3", "action.2"]


def test_export_needs_sign_in(client):
    assert client.get(reverse("accounts:privacy_export")).status_code == 302


def test_close_page_warns_a_sole_admin(as_user, user, acme):
    SmartAccountRoleFactory(user=user, content_object=acme, role=Role.SA_ADMIN)

    page = html(as_user(user).get(reverse("accounts:privacy_close")))

    assert "You are the only Smart Account admin of Acme." in page


def test_closing_needs_the_email_typed_exactly(as_user, member):
    client = as_user(member)
    reauthenticate(client)  # closing asks for the password first (tests/accounts/test_api_credentials.py)
    response = client.post(reverse("accounts:privacy_close"), {"confirm_email": "someone@else.example"})

    assert response.status_code == 200
    assert "Type your email address, pat@northwind.example, exactly." in field_error(response, "id_confirm_email")
    member.refresh_from_db()
    assert member.is_active and member.closed_at is None


def test_closing_revokes_roles_disables_login_and_pseudonymises_events(client, as_user, member):
    pk, key = member.pk, member.api_key.key
    reauthenticate(as_user(member))

    response = client.post(reverse("accounts:privacy_close"), {"confirm_email": "Pat@Northwind.example"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("accounts:privacy_closed")
    assert "Goodbye" in html(response)
    assert "_auth_user_id" not in client.session  # signed out
    assert not SmartAccountRole.objects.filter(user_id=pk).exists()
    assert not VirtualAccountRole.objects.filter(user_id=pk).exists()
    assert not HoldingMembership.objects.filter(user_id=pk).exists()
    assert not PartnerMembership.objects.filter(user_id=pk).exists()
    closed = User.objects.get(pk=pk)
    assert closed.is_active is False and closed.closed_at is not None
    assert not client.login(email="pat@northwind.example", password=DEFAULT_PASSWORD)
    assert set(Event.objects.filter(actor_id=pk).values_list("actor_label", flat=True)) == {f"closed-user-{pk}"}
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_closing_leaves_other_users_alone(as_user, member, colleague, acme):
    client = as_user(member)
    reauthenticate(client)
    assert client.post(reverse("accounts:privacy_close"), {"confirm_email": member.email}).status_code == 302
    member.refresh_from_db()
    assert member.closed_at is not None

    assert SmartAccountRole.objects.filter(user=colleague, content_object=acme).exists()
    assert Event.objects.filter(actor=colleague, actor_label="colleague@acme.example").exists()


def test_privacy_page_links_download_and_close(as_user, user):
    page = html(as_user(user).get(reverse("accounts:privacy")))

    assert f'href="{reverse("accounts:privacy_export")}"' in page
    assert f'href="{reverse("accounts:privacy_close")}"' in page


def test_user_menu_links_privacy_support_and_api_keys(as_user, user):
    page = html(as_user(user).get(reverse("portal:dashboard")))

    for name in ("privacy", "support_case_list", "api_key_list"):
        assert f'href="{reverse("accounts:" + name)}"' in page


def test_a_sole_admin_cannot_close_their_account_until_they_hand_it_over(as_user, user, acme):
    SmartAccountRoleFactory(user=user, content_object=acme, role=Role.SA_ADMIN)
    client = as_user(user)
    reauthenticate(client)

    response = client.post(reverse("accounts:privacy_close"), {"confirm_email": user.email})

    assert response.status_code == 200
    assert "You are the only admin of Acme" in field_error(response, "id_confirm_email")
    user.refresh_from_db()
    assert user.is_active and user.closed_at is None
    assert SmartAccountRole.objects.filter(user=user, content_object=acme).exists()


def test_closing_the_last_partner_admin_is_refused(as_user, partner_admin, partner_member):
    client = as_user(partner_admin)
    reauthenticate(client)
    assert "You are the only partner admin of Northwind Networks." in html(client.get(reverse("accounts:privacy_close")))

    response = client.post(reverse("accounts:privacy_close"), {"confirm_email": partner_admin.email})

    assert response.status_code == 200
    assert "You are the only admin of partner Northwind Networks. Make another member partner admin first." \
        in field_error(response, "id_confirm_email")
    partner_admin.refresh_from_db()
    assert partner_admin.is_active and PartnerMembership.objects.get(user=partner_admin).is_admin
