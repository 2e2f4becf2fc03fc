"""/api/v1/smart-accounts/: find by domain, list one's own, create for oneself, request for a
customer (partner users), create a holding account, see one, and activate (the named contact)."""
from __future__ import annotations

import pytest

from accounts.models import (
    Invitation,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SmartAccountStatus,
    VirtualAccount,
)

from tests.factories import (
    HoldingAccountFactory,
    HoldingMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountRoleFactory,
)
from tests.worlds.api_acme import acme, call_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

URL = "/api/v1/smart-accounts/"


# --- find by domain (flow 1) -------------------------------------------------------------------


def test_domain_search_is_case_insensitive_and_exact(user_api):
    acme = SmartAccountFactory(name="Acme", domain="acme.com")
    acme_labs = SmartAccountFactory(name="Acme Labs", domain="acme.com")
    SmartAccountFactory(name="Acme Subsidiary", domain="sub.acme.com")
    SmartAccountFactory(name="Acme Co", domain="acme.co")
    body = user_api.get(URL, {"domain": "  ACME.Com. "}).json()
    assert body["count"] == 2
    assert body["results"] == [
        {"id": acme.pk, "name": "Acme", "domain": "acme.com", "kind": "customer", "status": "active"},
        {"id": acme_labs.pk, "name": "Acme Labs", "domain": "acme.com", "kind": "customer", "status": "active"},
    ]


def test_domain_search_does_not_find_a_parent_domain_from_a_subdomain(user_api):
    SmartAccountFactory(domain="acme.com")
    assert user_api.get(URL, {"domain": "sub.acme.com"}).json()["count"] == 0


def test_domain_search_shows_accounts_awaiting_activation_with_their_status(user_api):
    waiting = SmartAccountFactory(name="Acme", domain="acme.com", new=True)
    assert user_api.get(URL, {"domain": "acme.com"}).json()["results"] == [
        {"id": waiting.pk, "name": "Acme", "domain": "acme.com", "kind": "customer", "status": "new"},
    ]


def test_domain_search_never_lists_holding_accounts(user_api):
    HoldingAccountFactory(domain="acme.com")
    assert user_api.get(URL, {"domain": "acme.com"}).json()["count"] == 0


def test_blank_domain_search_is_400_keyed_domain(user_api):
    response = user_api.get(URL, {"domain": " . "})
    assert response.status_code == 400
    assert list(response.json()) == ["domain"]


def test_anonymous_cannot_search(anon):
    assert anon.get(URL, {"domain": "acme.com"}).status_code == 401


@pytest.mark.parametrize("accounts", [2, 30])
def test_domain_search_takes_the_same_queries_for_few_and_many(user_api, accounts, django_assert_num_queries):
    SmartAccountFactory.create_batch(accounts, domain="acme.com")
    # API key (with its user), its last-use update, the count, the page.
    with django_assert_num_queries(4):
        assert user_api.get(URL, {"domain": "acme.com"}).json()["count"] == accounts


# --- the caller's accounts -----------------------------------------------------------------------


def test_list_is_the_accounts_the_caller_holds_a_role_in_or_is_a_member_of(api_as, user, partner):
    by_sa_role = SmartAccountFactory(name="Alpha")
    SmartAccountRoleFactory(user=user, content_object=by_sa_role, role=Role.SA_VIEWER)
    by_va_role = SmartAccountFactory(name="Beta")
    VirtualAccountRoleFactory(user=user, content_object=by_va_role.default_virtual_account, role=Role.VA_USER)
    holding = HoldingAccountFactory(name="Gamma Stock", partner=partner)
    HoldingMembershipFactory(smart_account=holding, user=user)
    SmartAccountFactory(name="Not mine")
    body = api_as(user, key=True).get(URL).json()
    assert body["count"] == 3
    assert [a["id"] for a in body["results"]] == [by_sa_role.pk, by_va_role.pk, holding.pk]  # customers, then holding
    assert body["results"][2]["kind"] == "holding"


def test_a_user_without_roles_lists_nothing(user_api):
    SmartAccountFactory()
    assert user_api.get(URL).json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_list_is_paginated(api_as, user):
    for account in SmartAccountFactory.create_batch(3):
        SmartAccountRoleFactory(user=user, content_object=account)
    body = api_as(user, key=True).get(URL, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None


@pytest.mark.parametrize("accounts", [2, 30])
def test_list_takes_the_same_queries_for_few_and_many(api_as, user, accounts, django_assert_num_queries):
    for account in SmartAccountFactory.create_batch(accounts):
        SmartAccountRoleFactory(user=user, content_object=account, role=Role.SA_USER)
        VirtualAccountRoleFactory(user=user, content_object=account.default_virtual_account, role=Role.VA_VIEWER)
    client = api_as(user, key=True)
    # API key (with its user), its last-use update, the count, the page.
    with django_assert_num_queries(4):
        assert client.get(URL).json()["count"] == accounts


# --- create for oneself (flow 2) -------------------------------------------------------------------


def test_verified_user_creates_an_active_account_for_their_own_domain_and_is_its_admin(api_as):
    founder = UserFactory(email="it@globex.example")
    response = api_as(founder, key=True).post(URL, {"kind": "customer", "name": "Globex", "domain": "GLOBEX.example"},
                                              format="json")
    assert response.status_code == 201
    sa = SmartAccount.objects.get(name="Globex")
    root = VirtualAccount.objects.get(smart_account=sa, parent=None)
    assert response.json() == {
        "id": sa.pk, "name": "Globex", "domain": "globex.example", "kind": "customer", "status": "active",
        "root_virtual_account": root.pk, "default_virtual_account": root.pk, "partner": None,
        "contact_email": "it@globex.example", "your_roles": [{"role": "sa_admin", "virtual_account": None}],
        "created_at": response.json()["created_at"], "activated_at": response.json()["activated_at"],
    }
    assert root.name == "DEFAULT"
    assert SmartAccountRole.objects.get(content_object=sa).user == founder


def test_contact_email_of_the_caller_is_creating_for_oneself(api_as):
    founder = UserFactory(email="it@globex.example")
    response = api_as(founder, key=True).post(
        URL, {"name": "Globex", "domain": "globex.example", "contact_email": "IT@globex.example"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "active"


def test_kind_defaults_to_customer(api_as):
    response = api_as(UserFactory(email="it@globex.example"), key=True).post(
        URL, {"name": "Globex", "domain": "globex.example"}, format="json"
    )
    assert response.status_code == 201 and response.json()["kind"] == "customer"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Globex", "domain": "initech.example"}, "domain"),  # not the caller's own domain
        ({"name": "Globex"}, "domain"),
        ({"name": "Globex", "domain": "not a domain"}, "domain"),
        ({"domain": "globex.example"}, "name"),
        ({"name": "  ", "domain": "globex.example"}, "name"),
        ({"name": "Taken", "domain": "globex.example"}, "name"),
        ({"kind": "galaxy", "name": "Globex", "domain": "globex.example"}, "kind"),
    ],
)
def test_invalid_account_is_field_keyed_400_and_creates_nothing(api_as, body, field):
    SmartAccountFactory(name="Taken", domain="globex.example")
    before = SmartAccount.objects.count()
    response = api_as(UserFactory(email="it@globex.example"), key=True).post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert SmartAccount.objects.count() == before


def test_unverified_user_cannot_create_an_account(api_as):
    response = api_as(UserFactory(email="it@globex.example", unverified=True), key=True).post(
        URL, {"name": "Globex", "domain": "globex.example"}, format="json"
    )
    assert response.status_code == 403
    assert not SmartAccount.objects.exists()


def test_anonymous_cannot_create_an_account(anon):
    assert anon.post(URL, {"name": "Globex", "domain": "globex.example"}, format="json").status_code == 401
    assert not SmartAccount.objects.exists()


# --- request for a customer (flow 3) ---------------------------------------------------------------


@pytest.fixture
def contact(db):
    return UserFactory(email="cio@initech.example", name="Ina Initech")


def test_partner_user_requests_a_new_account_and_the_contact_gets_an_activation_email(
    partner_member_api, partner, contact, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = partner_member_api.post(
            URL,
            {"kind": "customer", "name": "Initech", "domain": "initech.example", "contact_email": "CIO@initech.example"},
            format="json",
        )
    assert response.status_code == 201
    sa = SmartAccount.objects.get(name="Initech")
    assert (sa.status, sa.contact, sa.partner) == (SmartAccountStatus.NEW, contact, partner)
    body = response.json()
    assert (body["status"], body["contact_email"], body["your_roles"]) == ("new", contact.email, [])
    assert body["root_virtual_account"] == VirtualAccount.objects.get(smart_account=sa, parent=None).pk
    assert not SmartAccountRole.objects.filter(content_object=sa).exists()  # roles come with activation
    assert [m.to for m in mailoutbox] == [["cio@initech.example"]]
    assert "/invite/" in mailoutbox[0].body


def test_contact_domain_must_match_requested_domain(partner_member_api, mailoutbox, django_capture_on_commit_callbacks):
    UserFactory(email="someone@gmail.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = partner_member_api.post(
            URL, {"name": "Initech", "domain": "initech.example", "contact_email": "someone@gmail.example"},
            format="json",
        )
    assert response.status_code == 400
    assert list(response.json()) == ["contact_email"]
    assert "initech.example" in response.json()["contact_email"][0]
    assert not SmartAccount.objects.exists()
    assert mailoutbox == []


@pytest.mark.parametrize("contact_email", ["ghost@initech.example", "not-an-email"])
def test_contact_must_be_a_registered_user(partner_member_api, contact_email):
    response = partner_member_api.post(
        URL, {"name": "Initech", "domain": "initech.example", "contact_email": contact_email}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["contact_email"]
    assert not SmartAccount.objects.exists()


def test_only_partner_users_request_an_account_on_a_customers_behalf(user_api, contact):
    response = user_api.post(
        URL, {"name": "Initech", "domain": "initech.example", "contact_email": contact.email}, format="json"
    )
    assert response.status_code == 403
    assert not SmartAccount.objects.exists()


# --- holding accounts (flow 4) -------------------------------------------------------------------


def test_partner_user_creates_a_holding_account_and_joins_it(partner_member_api, partner, partner_member):
    response = partner_member_api.post(URL, {"kind": "holding", "name": "Stock"}, format="json")
    assert response.status_code == 201
    sa = SmartAccount.objects.get(name="Stock")
    assert (sa.kind, sa.partner, sa.status) == (SmartAccountKind.HOLDING, partner, SmartAccountStatus.ACTIVE)
    assert list(sa.holding_memberships.values_list("user", flat=True)) == [partner_member.pk]
    body = response.json()
    assert (body["kind"], body["partner"], body["domain"]) == ("holding", partner.pk, "")
    assert body["root_virtual_account"] == body["default_virtual_account"] is not None


def test_staff_creates_a_holding_account_for_a_named_partner(staff_api, partner):
    response = staff_api.post(URL, {"kind": "holding", "name": "Stock", "partner": partner.pk}, format="json")
    assert response.status_code == 201
    assert SmartAccount.objects.get(name="Stock").partner == partner


def test_a_partner_user_cannot_create_a_holding_account_for_another_partner(partner_member_api, other_partner):
    response = partner_member_api.post(URL, {"kind": "holding", "name": "Stock", "partner": other_partner.pk},
                                       format="json")
    assert response.status_code == 403
    assert not SmartAccount.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "holding", "name": "Stock", "domain": "acme.com"}, "domain"),
        ({"kind": "holding", "name": "Stock", "contact_email": "a@acme.com"}, "contact_email"),
        ({"kind": "holding", "name": "Taken"}, "name"),
        ({"kind": "holding", "name": ""}, "name"),
    ],
)
def test_invalid_holding_account_is_field_keyed_400(partner_member_api, partner, body, field):
    HoldingAccountFactory(partner=partner, name="taken")
    response = partner_member_api.post(URL, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert SmartAccount.objects.count() == 1


def test_user_without_partner_cannot_create_a_holding_account(user_api):
    response = user_api.post(URL, {"kind": "holding", "name": "Stock"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["kind"]


def test_a_customer_account_names_no_partner(api_as, partner):
    response = api_as(UserFactory(email="it@globex.example"), key=True).post(
        URL, {"name": "Globex", "domain": "globex.example", "partner": partner.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["partner"]


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_root_default_and_the_callers_roles(acme, call_as):
    body = call_as("va_user").get(f"{URL}{acme.sa.pk}/").json()
    assert body["root_virtual_account"] == acme.root.pk
    assert body["default_virtual_account"] == acme.root.pk
    assert body["your_roles"] == [{"role": "va_user", "virtual_account": acme.us.pk}]
    assert call_as("sa_admin").get(f"{URL}{acme.sa.pk}/").json()["your_roles"] == [
        {"role": "sa_admin", "virtual_account": None}
    ]


def test_holding_member_sees_its_holding_account(acme, call_as):
    response = call_as("holding_member").get(f"{URL}{acme.holding.pk}/")
    assert response.status_code == 200
    assert response.json()["kind"] == "holding"


def test_unknown_account_is_404(user_api):
    assert user_api.get(f"{URL}999999/").status_code == 404


def test_detail_takes_a_fixed_number_of_queries(acme, call_as, django_assert_num_queries):
    client = call_as("va_user")
    # API key (with its user), its last-use update, the account if visible, the caller's SA roles and VA roles.
    with django_assert_num_queries(5):
        client.get(f"{URL}{acme.sa.pk}/")


# --- activation ----------------------------------------------------------------------------------


@pytest.fixture
def requested(partner_member, contact):
    """An account a partner user requested for the contact of initech.example, awaiting activation."""
    from accounts import services

    return services.smart_account_request(name="Initech", domain="initech.example", contact_email=contact.email,
                                          actor=partner_member)


def activate_url(sa) -> str:
    return f"{URL}{sa.pk}/activate/"


def test_the_named_contact_activates_becomes_admin_and_grants_the_partner_a_role(
    api_as, requested, contact, partner_member
):
    response = api_as(contact, key=True).post(activate_url(requested), {"grant_partner_role": "sa_user"}, format="json")
    assert response.status_code == 200
    requested.refresh_from_db()
    assert requested.status == SmartAccountStatus.ACTIVE
    assert response.json()["status"] == "active"
    assert response.json()["your_roles"] == [{"role": "sa_admin", "virtual_account": None}]
    roles = {(r.user, r.permission.codename) for r in SmartAccountRole.objects.filter(content_object=requested)}
    assert roles == {(contact, "sa_admin"), (partner_member, "sa_user")}
    assert Invitation.objects.get(smart_account=requested).used_at is not None


def test_activation_without_a_partner_role_gives_the_partner_nothing(api_as, requested, contact, partner_member):
    assert api_as(contact, key=True).post(activate_url(requested), {}, format="json").status_code == 200
    assert not SmartAccountRole.objects.filter(content_object=requested, user=partner_member).exists()


def test_the_contact_sees_the_account_only_once_activated(api_as, requested, contact):
    client = api_as(contact, key=True)
    assert client.get(f"{URL}{requested.pk}/").status_code == 404
    client.post(activate_url(requested), {}, format="json")
    assert client.get(f"{URL}{requested.pk}/").status_code == 200


def test_only_the_named_contact_can_activate(api_as, requested, partner_member, partner_admin):
    # The requester knows the account (it got its id) but may not activate it: 403.
    assert api_as(partner_member, key=True).post(activate_url(requested), {}, format="json").status_code == 403
    # Anyone else does not even learn that it exists: 404.
    for stranger in (partner_admin, UserFactory(email="colleague@initech.example")):
        assert api_as(stranger, key=True).post(activate_url(requested), {}, format="json").status_code == 404
    requested.refresh_from_db()
    assert requested.status == SmartAccountStatus.NEW
    assert not SmartAccountRole.objects.filter(content_object=requested).exists()


def test_an_account_admin_who_is_not_the_contact_cannot_activate(api_as):
    sa = SmartAccountFactory(new=True, contact=UserFactory(email="cio@globex.example"))
    admin = SmartAccountRoleFactory(content_object=sa).user
    assert api_as(admin, key=True).post(activate_url(sa), {}, format="json").status_code == 403


def test_anonymous_cannot_activate(anon, requested):
    assert anon.post(activate_url(requested), {}, format="json").status_code == 401


def test_staff_may_activate_on_the_contacts_behalf(staff_api, requested, contact):
    assert staff_api.post(activate_url(requested), {}, format="json").status_code == 200
    assert SmartAccountRole.objects.get(content_object=requested).user == contact


def test_an_active_account_cannot_be_activated_again(api_as, requested, contact):
    client = api_as(contact, key=True)
    client.post(activate_url(requested), {}, format="json")
    response = client.post(activate_url(requested), {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["status"]


@pytest.mark.parametrize("role", ["va_admin", "owner"])
def test_the_partner_role_is_an_sa_role(api_as, requested, contact, role):
    response = api_as(contact, key=True).post(activate_url(requested), {"grant_partner_role": role}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["grant_partner_role"]
    requested.refresh_from_db()
    assert requested.status == SmartAccountStatus.NEW
