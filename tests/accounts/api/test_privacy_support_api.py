"""Flow 12 through the API: download my data, close my account, my API keys and my support cases
(/api/v1/me/data/, /me/close/, /me/api-keys/, /api-keys/{id}/, /support-cases/…)."""
from __future__ import annotations

import json

import pytest

from accounts.models import ApiKey, PartnerMembership, Role, SmartAccountRole, SupportCase, SupportCaseStatus

from tests.factories import (
    ApiKeyFactory,
    EventFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stranger(db):
    return UserFactory(email="stranger@else.example", name="Sid Stranger")


@pytest.fixture
def acme(user, stranger):
    """Acme: the user is SA user, the stranger its admin (who granted the user's role)."""
    sa = SmartAccountFactory(name="Acme", domain="acme.example")
    SmartAccountRoleFactory(user=stranger, content_object=sa, role=Role.SA_ADMIN)
    SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_USER, granted_by=stranger)
    return sa


# --- download my data ------------------------------------------------------------------------


def test_export_contains_the_callers_roles_and_nothing_of_other_users(user_api, user, stranger, acme):
    globex = SmartAccountFactory(name="Globex", domain="globex.example")
    SmartAccountRoleFactory(user=stranger, content_object=globex, role=Role.SA_ADMIN)
    EventFactory(smart_account=acme, actor=user, action="role.granted",
                 object_repr="sa_viewer for stranger@else.example", detail={"user": "stranger@else.example"})

    response = user_api.get("/api/v1/me/data/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    data = response.json()
    assert data["profile"]["email"] == "user@example.com"
    assert [(r["smart_account"]["name"], r["role"], r["granted_by"]) for r in data["roles"]] == [
        ("Acme", "sa_user", "another user"),
    ]
    text = json.dumps(data)
    assert "stranger" not in text.lower()
    assert "Globex" not in text
    assert [e["detail"] for e in data["events"]] == [{"user": "[another user]"}]


def test_export_is_the_same_data_as_the_privacy_page(client, user_api, user, acme):
    client.force_login(user)
    page = json.loads(client.get("/privacy/export/").content)
    api = user_api.get("/api/v1/me/data/").json()
    for data in (page, api):
        data.pop("generated_at")
        for key in data["api_keys"]:
            key.pop("last_used_at")  # the API call itself uses the key
    assert api == page


def test_export_needs_a_signed_in_user(anon):
    assert anon.get("/api/v1/me/data/").status_code == 401


# --- close my account ------------------------------------------------------------------------


@pytest.fixture
def closing_api(api_as, user):
    """Closing the account needs a session that just re-authenticated (tests/accounts/test_api_credentials.py)."""
    return api_as(user, reauthenticated=True)


def test_close_needs_the_exact_own_email(closing_api, user):
    user_api = closing_api
    for typed in ("", "someone@else.example", "user@example"):
        response = user_api.post("/api/v1/me/close/", {"confirm_email": typed}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["confirm_email"]
    assert user_api.post("/api/v1/me/close/", {}, format="json").json().keys() == {"confirm_email"}
    user.refresh_from_db()
    assert user.is_active and user.closed_at is None


def test_close_disables_login_and_the_api_key_stops_working(closing_api, user_api, user, acme):
    assert user_api.get("/api/v1/me/").status_code == 200
    response = closing_api.post("/api/v1/me/close/", {"confirm_email": "  USER@example.com "}, format="json")

    assert response.status_code == 204
    user.refresh_from_db()
    assert (user.is_active, user.has_usable_password()) == (False, False)
    assert user.email == f"closed-user-{user.pk}@closed.invalid"
    assert not SmartAccountRole.objects.filter(user=user).exists()
    assert user_api.get("/api/v1/me/").status_code == 401


def test_close_ends_a_session_callers_sign_in(api_as, user):
    client = api_as(user, reauthenticated=True)
    assert client.post("/api/v1/me/close/", {"confirm_email": user.email}, format="json").status_code == 204
    assert client.get("/api/v1/me/").status_code == 401


def test_close_refuses_the_only_admin_of_an_account(closing_api, user_api, user):
    sa = SmartAccountFactory(name="Solo Ltd")
    SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_ADMIN)

    response = closing_api.post("/api/v1/me/close/", {"confirm_email": user.email}, format="json")

    assert response.status_code == 400
    assert "Solo Ltd" in response.json()["confirm_email"][0]
    user.refresh_from_db()
    assert user.is_active and user.closed_at is None
    assert user_api.get("/api/v1/me/").status_code == 200


def test_closing_the_last_partner_admin_is_refused(api_as, partner, partner_admin, partner_member):
    client = api_as(partner_admin, reauthenticated=True)

    response = client.post("/api/v1/me/close/", {"confirm_email": partner_admin.email}, format="json")

    assert response.status_code == 400
    assert response.json() == {"confirm_email": [
        "You are the only admin of partner Acme Resellers. Make another member partner admin first."]}
    assert PartnerMembership.objects.get(user=partner_admin).is_admin
    assert client.get("/api/v1/me/").status_code == 200


def test_close_needs_a_signed_in_user(anon):
    assert anon.post("/api/v1/me/close/", {"confirm_email": "user@example.com"}, format="json").status_code == 401


# --- API keys --------------------------------------------------------------------------------


def test_a_new_api_key_is_shown_once_and_works(user_api, api_as, user):
    # Minting a key needs a session that just re-authenticated (tests/accounts/test_api_credentials.py).
    response = api_as(user, reauthenticated=True).post("/api/v1/me/api-keys/", {"name": "inventory sync"}, format="json")

    assert response.status_code == 201
    body = response.json()
    key = ApiKey.objects.get(pk=body["id"])
    assert (key.user, key.name, key.prefix) == (user, "inventory sync", body["key"][:12])
    assert body["key"].startswith("slp_") and key.key_hash == ApiKey.hash(body["key"])
    listed = user_api.get("/api/v1/me/api-keys/").json()["results"]
    calling_key = ApiKey.objects.exclude(pk=key.pk).get(user=user)  # the one this client signs in with
    assert [k["name"] for k in listed] == ["inventory sync", calling_key.name]
    assert all("key" not in k for k in listed)
    assert set(listed[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason"}

    fresh = api_as(user)
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {body['key']}")
    assert fresh.get("/api/v1/me/").json()["email"] == "user@example.com"


def test_api_key_name_is_required(api_as, user):
    response = api_as(user, reauthenticated=True).post("/api/v1/me/api-keys/", {"name": ""}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_a_revoked_api_key_is_refused(user_api, api_as, user):
    key = ApiKeyFactory(user=user)
    client = api_as(user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.key}")
    assert client.get("/api/v1/me/").status_code == 200

    assert user_api.delete(f"/api/v1/api-keys/{key.pk}/").status_code == 204

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert client.get("/api/v1/me/").status_code == 401
    assert user_api.delete(f"/api/v1/api-keys/{key.pk}/").status_code == 204  # revoking twice changes nothing


def test_other_users_api_keys_are_404_and_never_listed(user_api, stranger):
    theirs = ApiKeyFactory(user=stranger, name="stranger's key")

    assert user_api.delete(f"/api/v1/api-keys/{theirs.pk}/").status_code == 404
    assert user_api.delete("/api/v1/api-keys/999999/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert "stranger's key" not in [k["name"] for k in user_api.get("/api/v1/me/api-keys/").json()["results"]]


def test_api_keys_need_a_signed_in_user(anon, user):
    key = ApiKeyFactory(user=user)
    assert anon.get("/api/v1/me/api-keys/").status_code == 401
    assert anon.post("/api/v1/me/api-keys/", {"name": "x"}, format="json").status_code == 401
    assert anon.delete(f"/api/v1/api-keys/{key.pk}/").status_code == 401


# --- support cases ---------------------------------------------------------------------------


@pytest.fixture
def case(user):
    case = SupportCaseFactory(user=user, subject="Licenses missing")
    SupportMessageFactory(case=case, body="Ten licenses of SO-100042 are not in DEFAULT.")
    return case


@pytest.fixture
def strangers_case(stranger):
    case = SupportCaseFactory(user=stranger, subject="Stranger's secret problem")
    SupportMessageFactory(case=case, body="Secret.")
    return case


def test_open_a_case_about_an_account_and_an_order(user_api, user, acme):
    response = user_api.post("/api/v1/support-cases/", {
        "subject": "Licenses missing", "body": "The order shipped yesterday.", "smart_account": acme.pk,
        "order_number": "SO-100042",
    }, format="json")

    assert response.status_code == 201
    case = SupportCase.objects.get(user=user)
    assert (case.smart_account, case.order_number, case.status) == (acme, "SO-100042", SupportCaseStatus.OPEN)
    body = response.json()
    assert (body["id"], body["smart_account_name"], body["message_count"]) == (case.pk, "Acme", 1)
    assert [(m["author"], m["body"]) for m in body["messages"]] == [("You", "The order shipped yesterday.")]


def test_a_case_can_name_only_an_account_the_caller_sees(user_api, user):
    hidden = SmartAccountFactory(name="Hidden Industries")
    for account in (hidden.pk, 999999):
        response = user_api.post("/api/v1/support-cases/", {"subject": "s", "body": "b", "smart_account": account},
                                 format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["smart_account"]
    assert not SupportCase.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"body": "b"}, "subject"), ({"subject": "s"}, "body"), ({"subject": "   ", "body": "b"}, "subject"),
    ({"subject": "s", "body": "   "}, "body"),
])
def test_a_case_needs_a_subject_and_a_description(user_api, body, field):
    response = user_api.post("/api/v1/support-cases/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_support_cases_are_private_to_their_owner(user_api, case, strangers_case):
    assert [c["subject"] for c in user_api.get("/api/v1/support-cases/").json()["results"]] == ["Licenses missing"]
    other = strangers_case.pk
    assert user_api.get(f"/api/v1/support-cases/{other}/").status_code == 404
    assert user_api.post(f"/api/v1/support-cases/{other}/messages/", {"body": "hi"}, format="json").status_code == 404
    assert user_api.post(f"/api/v1/support-cases/{other}/resolve/").status_code == 404
    assert strangers_case.messages.count() == 1
    assert SupportCase.objects.get(pk=other).status == SupportCaseStatus.OPEN


def test_only_staff_list_every_case(user_api, staff_api, case, strangers_case):
    assert user_api.get("/api/v1/support-cases/?all=true").status_code == 403
    assert staff_api.get("/api/v1/support-cases/").json()["count"] == 0
    assert staff_api.get("/api/v1/support-cases/?all=true").json()["count"] == 2


def test_support_cases_need_a_signed_in_user(anon, case):
    assert anon.get("/api/v1/support-cases/").status_code == 401
    assert anon.get(f"/api/v1/support-cases/{case.pk}/").status_code == 401
    assert anon.post(f"/api/v1/support-cases/{case.pk}/messages/", {"body": "x"}, format="json").status_code == 401


def test_my_reply_reopens_the_case_and_emails_nobody(user_api, case, mailoutbox, django_capture_on_commit_callbacks):
    SupportCase.objects.filter(pk=case.pk).update(status=SupportCaseStatus.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        response = user_api.post(f"/api/v1/support-cases/{case.pk}/messages/", {"body": "It is back."}, format="json")

    assert response.status_code == 201
    assert (response.json()["author"], response.json()["from_staff"]) == ("You", False)
    assert SupportCase.objects.get(pk=case.pk).status == SupportCaseStatus.OPEN
    assert mailoutbox == []


def test_a_reply_by_staff_emails_the_user_who_sees_support_team(
    staff_api, user_api, case, mailoutbox, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(f"/api/v1/support-cases/{case.pk}/messages/", {"body": "Found them in US."},
                                  format="json")

    assert response.status_code == 201
    assert response.json()["from_staff"] is True
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["user@example.com"]
    assert "Licenses missing" in mailoutbox[0].subject and "Found them in US." in mailoutbox[0].body
    detail = user_api.get(f"/api/v1/support-cases/{case.pk}/").json()
    assert detail["status"] == "waiting"
    assert [(m["author"], m["body"]) for m in detail["messages"]] == [
        ("You", "Ten licenses of SO-100042 are not in DEFAULT."), ("Support team", "Found them in US."),
    ]
    assert "staff@vendor.example" not in json.dumps(detail)


def test_an_empty_reply_is_a_field_error(user_api, case):
    response = user_api.post(f"/api/v1/support-cases/{case.pk}/messages/", {"body": ""}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert case.messages.count() == 1


def test_the_owner_resolves_their_case(user_api, case):
    response = user_api.post(f"/api/v1/support-cases/{case.pk}/resolve/")

    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert SupportCase.objects.get(pk=case.pk).status == SupportCaseStatus.RESOLVED


@pytest.mark.parametrize("messages", [1, 15])
def test_case_detail_takes_the_same_queries_for_few_and_many_messages(user_api, case, messages,
                                                                      django_assert_num_queries):
    SupportMessageFactory.create_batch(messages, case=case)
    # API key lookup (with its user), its last-use update, the case (with account, owner, count), its messages.
    with django_assert_num_queries(4):
        assert len(user_api.get(f"/api/v1/support-cases/{case.pk}/").json()["messages"]) == messages + 1

