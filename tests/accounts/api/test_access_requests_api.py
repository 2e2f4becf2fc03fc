"""Access requests (flow 1): any verified user asks an account found by domain search for a role;
its SA admins list the requests and approve them with a role and scope, or decline them; the
requester is told either way."""
from __future__ import annotations

import pytest

from accounts.models import AccessRequest, AccessRequestStatus, SmartAccountRole, VirtualAccountRole

from tests.factories import (
    AccessRequestFactory,
    HoldingAccountFactory,
    SmartAccountFactory,
    UserFactory,
)
from tests.worlds.api_acme import acme, call_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def requests_url(sa) -> str:
    return f"/api/v1/smart-accounts/{sa.pk}/access-requests/"


@pytest.fixture
def applicant(db):
    return UserFactory(email="applicant@acme.com", name="Ann Applicant")


@pytest.fixture
def applicant_api(api_as, applicant):
    return api_as(applicant, key=True)


@pytest.fixture
def pending(acme, applicant):
    return AccessRequestFactory(smart_account=acme.sa, requester=applicant, message="I run Finance.")


# --- asking ------------------------------------------------------------------------------------


def test_any_verified_user_asks_for_access_and_the_sa_admins_are_emailed(
    acme, applicant, applicant_api, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = applicant_api.post(requests_url(acme.sa), {"message": "I run Finance."}, format="json")
    assert response.status_code == 201
    request = AccessRequest.objects.get()
    assert response.json() == {
        "id": request.pk, "smart_account": acme.sa.pk, "requester": applicant.pk, "requester_email": applicant.email,
        "message": "I run Finance.", "scope_wanted": "", "status": "pending", "granted_role": "", "reason": "",
        "decided_by": None, "created_at": response.json()["created_at"], "decided_at": None,
    }
    assert [m.to for m in mailoutbox] == [["sa-admin@acme.com"]]


def test_requester_names_the_scope_in_words_and_the_admin_chooses_it_on_approval(acme, applicant, applicant_api, call_as):
    response = applicant_api.post(requests_url(acme.sa), {"scope_wanted": "Finance, in the US", "message": "Hi"},
                                  format="json")
    assert response.status_code == 201
    assert response.json()["scope_wanted"] == "Finance, in the US"
    request = AccessRequest.objects.get()
    assert (request.scope_wanted, list(request.requested_virtual_accounts.all())) == ("Finance, in the US", [])
    # The requester's list and the admins' list say what was asked for.
    assert [r["scope_wanted"] for r in applicant_api.get("/api/v1/access-requests/").json()["results"]] == [
        "Finance, in the US"]
    admin = call_as("sa_admin")
    assert [r["scope_wanted"] for r in admin.get(requests_url(acme.sa)).json()["results"]] == ["Finance, in the US"]
    response = approve(admin, request, {"role": "va_user", "virtual_accounts": [acme.finance.pk]})
    assert response.status_code == 200
    assert [(r.content_object, r.permission.codename) for r in VirtualAccountRole.objects.filter(user=applicant)] == [
        (acme.finance, "va_user")
    ]


def test_the_answer_to_a_request_tells_nothing_beyond_the_domain_search(acme, applicant_api):
    response = applicant_api.post(requests_url(acme.sa), {"scope_wanted": "whatever you allow"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert "virtual_accounts" not in body
    text = response.content.decode()
    assert not any(va.name in text for va in (acme.root, acme.us, acme.finance, acme.sacramento, acme.emea))


def test_a_requester_cannot_name_virtual_accounts_by_id(acme, applicant_api):
    """Ids of the account's Virtual Accounts and unknown ids get the same answer: no oracle of the tree."""
    answers = [
        applicant_api.post(requests_url(acme.sa), {"virtual_accounts": ids}, format="json")
        for ids in ([acme.finance.pk], [999999], [SmartAccountFactory().default_virtual_account.pk])
    ]
    assert {a.status_code for a in answers} == {400}
    assert len({a.content for a in answers}) == 1
    assert list(answers[0].json()) == ["virtual_accounts"]
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize("words", ["x" * 201, "Finance\x00", "Finance\x07"], ids=["too-long", "nul", "bell"])
def test_scope_wanted_is_at_most_200_characters_without_control_characters(acme, applicant_api, words):
    response = applicant_api.post(requests_url(acme.sa), {"scope_wanted": words}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["scope_wanted"]
    assert not AccessRequest.objects.exists()


def test_asking_a_new_account_is_400_keyed_smart_account(applicant_api):
    new = SmartAccountFactory(new=True)
    response = applicant_api.post(requests_url(new), {"scope_wanted": "all of it"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["smart_account"]
    assert "not active yet" in response.json()["smart_account"][0]
    assert not AccessRequest.objects.exists()


def test_a_second_pending_request_is_400(acme, applicant_api, pending):
    response = applicant_api.post(requests_url(acme.sa), {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["smart_account"]
    assert AccessRequest.objects.count() == 1


def test_an_unverified_user_cannot_ask(acme, api_as):
    client = api_as(UserFactory(unverified=True), key=True)
    assert client.post(requests_url(acme.sa), {}, format="json").status_code == 403
    assert not AccessRequest.objects.exists()


def test_a_holding_account_or_an_unknown_account_is_404(applicant_api):
    assert applicant_api.post(requests_url(HoldingAccountFactory()), {}, format="json").status_code == 404
    assert applicant_api.post("/api/v1/smart-accounts/999999/access-requests/", {}, format="json").status_code == 404


# --- listing -------------------------------------------------------------------------------------


def test_sa_admins_list_the_requests_newest_first_and_filter_by_status(acme, call_as, pending):
    denied = AccessRequestFactory(smart_account=acme.sa, status=AccessRequestStatus.DENIED)
    AccessRequestFactory()  # another account's
    client = call_as("sa_admin")
    assert [r["id"] for r in client.get(requests_url(acme.sa)).json()["results"]] == [denied.pk, pending.pk]
    assert [r["id"] for r in client.get(requests_url(acme.sa), {"status": "pending"}).json()["results"]] == [pending.pk]
    response = client.get(requests_url(acme.sa), {"status": "maybe"})
    assert response.status_code == 400
    assert list(response.json()) == ["status"]


@pytest.mark.parametrize("requests", [2, 25])
def test_the_list_takes_the_same_queries_for_few_and_many(acme, call_as, requests, django_assert_num_queries):
    for request in AccessRequestFactory.create_batch(requests, smart_account=acme.sa):
        request.requested_virtual_accounts.set([acme.finance, acme.emea])
    client = call_as("sa_admin")
    # API key (with its user), its last-use update, the account if visible, the admin check,
    # the count, the page (with requester and decider), the requested Virtual Accounts.
    with django_assert_num_queries(7):
        assert client.get(requests_url(acme.sa)).json()["count"] == requests


# --- deciding ------------------------------------------------------------------------------------


def approve(client, request, body):
    return client.post(f"/api/v1/access-requests/{request.pk}/approve/", body, format="json")


def test_approve_grants_exactly_the_chosen_scope(
    acme, call_as, pending, applicant, applicant_api, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = approve(call_as("sa_admin"), pending, {"role": "va_user", "virtual_accounts": [acme.finance.pk]})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["granted_role"]) == ("approved", "va_user")
    assert response.json()["decided_by"] == "sa-admin@acme.com"
    assert not SmartAccountRole.objects.filter(user=applicant).exists()
    assert [(r.content_object, r.permission.codename) for r in VirtualAccountRole.objects.filter(user=applicant)] == [
        (acme.finance, "va_user")
    ]
    # What the role shows, and nothing more: Finance and below.
    tree = applicant_api.get(f"/api/v1/smart-accounts/{acme.sa.pk}/virtual-accounts/").json()["results"]
    assert [va["name"] for va in tree if va["visible"]] == ["Finance", "Sacramento"]
    assert applicant_api.get(f"/api/v1/virtual-accounts/{acme.emea.pk}/").status_code == 404
    assert [m.to for m in mailoutbox] == [[applicant.email]]
    assert "approved" in mailoutbox[0].subject


def test_approve_with_an_sa_role_grants_the_whole_account(acme, call_as, pending, applicant):
    assert approve(call_as("sa_admin"), pending, {"role": "sa_viewer"}).status_code == 200
    assert [(r.content_object, r.permission.codename) for r in SmartAccountRole.objects.filter(user=applicant)] == [
        (acme.sa, "sa_viewer")
    ]
    assert not VirtualAccountRole.objects.filter(user=applicant).exists()


@pytest.mark.parametrize(
    "body, field",
    [
        (lambda w: {"role": "va_user"}, "virtual_accounts"),  # a VA role needs Virtual Accounts
        (lambda w: {"role": "va_user", "virtual_accounts": []}, "virtual_accounts"),
        (lambda w: {"role": "sa_user", "virtual_accounts": [w.finance.pk]}, "virtual_accounts"),  # SA roles cover all
        (lambda w: {"role": "va_user", "virtual_accounts": [999999]}, "virtual_accounts"),
        (lambda w: {"role": "owner"}, "role"),
        (lambda w: {}, "role"),
    ],
    ids=["va-role-without-vas", "va-role-with-empty-vas", "sa-role-with-vas", "unknown-va", "unknown-role", "no-role"],
)
def test_invalid_approval_is_field_keyed_400_and_decides_nothing(acme, call_as, pending, applicant, body, field):
    body = body(acme)
    response = approve(call_as("sa_admin"), pending, body)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    pending.refresh_from_db()
    assert pending.status == AccessRequestStatus.PENDING
    assert not SmartAccountRole.objects.filter(user=applicant).exists()
    assert not VirtualAccountRole.objects.filter(user=applicant).exists()


def test_deny_tells_the_requester_why(call_as, pending, applicant, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = call_as("sa_admin").post(f"/api/v1/access-requests/{pending.pk}/deny/",
                                            {"reason": "Ask your manager first."}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("denied", "Ask your manager first.")
    assert not SmartAccountRole.objects.filter(user=applicant).exists()
    assert [m.to for m in mailoutbox] == [[applicant.email]]
    assert "Ask your manager first." in mailoutbox[0].body


def test_a_decided_request_cannot_be_decided_again(call_as, pending, applicant):
    client = call_as("sa_admin")
    client.post(f"/api/v1/access-requests/{pending.pk}/deny/", {}, format="json")
    response = approve(client, pending, {"role": "sa_admin"})
    assert response.status_code == 400
    assert list(response.json()) == ["status"]
    assert not SmartAccountRole.objects.filter(user=applicant).exists()


def test_the_requester_cannot_approve_their_own_request(applicant_api, pending, applicant):
    assert approve(applicant_api, pending, {"role": "sa_admin"}).status_code == 404
    assert not SmartAccountRole.objects.filter(user=applicant).exists()


def test_unknown_request_is_404(call_as, acme):
    assert approve(call_as("sa_admin"), AccessRequest(pk=999999), {"role": "sa_user"}).status_code == 404

