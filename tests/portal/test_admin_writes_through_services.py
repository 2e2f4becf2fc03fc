"""The back office is a client of the services, not a second write path (issue 21, findings
4–6): deleting a user closes the account through `user_close` (the only admin of an account is
refused, as in the API), an API key is revoked by `api_key_revoke` and cannot be un-revoked,
and a partner is changed by `partner_update`, whose rules are partner_create's. Each accepted
change leaves an event."""
import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiKey, Event, Partner, PartnerKind, Role, SmartAccountRole, User
from tests import factories as f

from .test_admin import admin_url, change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return f.UserFactory(email="admin@vendor.example", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- 4. deleting a user is closing their account, with the service's rules -----------------------

def test_deleting_the_only_sa_admin_from_their_page_is_refused_with_the_services_message(staff_client):
    role = f.SmartAccountRoleFactory(content_object__name="NewCo", user__email="only@newco.example")
    user = role.user

    response = staff_client.post(admin_url(user, "delete"), {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert any("only admin of NewCo" in note for note in _messages(response)), _messages(response)
    user.refresh_from_db()
    assert (user.email, user.is_active, user.closed_at) == ("only@newco.example", True, None)
    assert SmartAccountRole.objects.filter(pk=role.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_bulk_deleting_users_closes_those_the_service_allows_and_refuses_the_only_admin(staff_client, staff):
    sole = f.SmartAccountRoleFactory(content_object__name="NewCo").user
    shared = f.SmartAccountRoleFactory(content_object__name="Shared Inc")
    f.SmartAccountRoleFactory(content_object=shared.content_object)  # a second admin there
    leaving = shared.user

    response = staff_client.post(
        admin_url(User),
        {"action": "delete_selected", "post": "yes", "_selected_action": [str(sole.pk), str(leaving.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    notes = _messages(response)
    assert any("only admin of NewCo" in note for note in notes), notes
    assert not any(note.startswith("Successfully deleted") for note in notes), notes
    sole.refresh_from_db()
    leaving.refresh_from_db()
    assert sole.closed_at is None and sole.is_active
    assert leaving.closed_at is not None and not leaving.is_active
    assert not SmartAccountRole.objects.filter(user=leaving).exists()
    # The account's log says who revoked the closed user's role: the staff member.
    event = Event.objects.get(smart_account=shared.content_object, action="role.revoked")
    assert event.actor == staff
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1


def test_deleting_a_user_from_their_page_closes_the_account(staff_client):
    user = f.UserFactory(email="leaving@acme.example", name="Lee Leaving")

    response = staff_client.post(admin_url(user, "delete"), {"post": "yes"}, follow=True)

    assert "The user “Lee Leaving <leaving@acme.example>” was closed." in _messages(response)
    user.refresh_from_db()
    assert user.closed_at is not None and user.email == f"closed-user-{user.pk}@closed.invalid"
    assert LogEntry.objects.get(action_flag=DELETION).object_repr == "Lee Leaving <leaving@acme.example>"


# --- 5. API keys: revoked through the service, never un-revoked --------------------------------

def test_clearing_revoked_at_in_the_change_form_does_not_unrevoke_a_key(staff_client):
    key = f.ApiKeyFactory(revoked_at=timezone.now(), revoked_reason="Revoked by you.")
    url = admin_url(key, "change")
    data = change_form_data(staff_client, url)
    data.update({"revoked_at_0": "", "revoked_at_1": "", "revoked_at": "", "name": "renamed by staff"})

    staff_client.post(url, data)

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.name != "renamed by staff"


def test_staff_revoke_api_keys_with_an_action_that_records_an_event(staff_client, staff):
    role = f.SmartAccountRoleFactory(role=Role.SA_USER)
    key = f.ApiKeyFactory(user=role.user)
    spent = f.ApiKeyFactory(user=role.user, revoked_at=timezone.now())

    response = staff_client.post(
        admin_url(ApiKey), {"action": "revoke_selected", "_selected_action": [str(key.pk), str(spent.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert staff.email in key.revoked_reason
    notes = _messages(response)
    assert "1 API key revoked." in notes, notes
    assert any(note.startswith("1 API key not revoked") for note in notes), notes
    event = Event.objects.get(action="api_key.revoked")
    assert (event.smart_account, event.actor, event.object_id) == (role.content_object, staff, str(key.pk))


# --- 6. partners: changed through partner_update ---------------------------------------------

def _partner_form(client, partner: Partner, **changes) -> tuple[str, dict]:
    url = admin_url(partner, "change")
    return url, change_form_data(client, url) | changes


def test_renaming_a_partner_to_a_case_variant_of_another_is_refused_next_to_the_field(staff_client):
    f.PartnerFactory(name="Northwind Networks")
    partner = f.PartnerFactory(name="Contoso")
    url, data = _partner_form(staff_client, partner, name="NORTHWIND   networks")

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "A partner with this name already exists." in response.context["adminform"].form.errors["name"]
    partner.refresh_from_db()
    assert partner.name == "Contoso"


def test_a_distributor_with_linked_resellers_cannot_become_a_reseller(staff_client):
    distributor = f.PartnerFactory(distributor=True, name="Northwind Distribution")
    distributor.linked_resellers.add(f.PartnerFactory(name="Contoso"))
    url, data = _partner_form(staff_client, distributor, kind=PartnerKind.RESELLER)
    data.pop("linked_resellers", None)  # unselected too: still refused, a two-tier order names it
    f.OrderFactory(partner=distributor, reseller=distributor.linked_resellers.get())

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    distributor.refresh_from_db()
    assert distributor.kind == PartnerKind.DISTRIBUTOR
    assert distributor.linked_resellers.count() == 1


def test_a_distributor_with_linked_resellers_selected_cannot_become_a_reseller(staff_client):
    distributor = f.PartnerFactory(distributor=True)
    distributor.linked_resellers.add(f.PartnerFactory())
    url, data = _partner_form(staff_client, distributor, kind=PartnerKind.RESELLER)

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "kind" in response.context["adminform"].form.errors
    distributor.refresh_from_db()
    assert distributor.kind == PartnerKind.DISTRIBUTOR


def test_an_accepted_partner_change_is_recorded_in_its_holding_accounts_log(staff_client, staff):
    holding = f.HoldingAccountFactory(partner__name="Contoso", partner__kind=PartnerKind.DISTRIBUTOR)
    partner = holding.partner
    reseller = f.PartnerFactory(name="Fabrikam")
    url, data = _partner_form(staff_client, partner, name="  Contoso   Ltd ", linked_resellers=[str(reseller.pk)])

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    partner.refresh_from_db()
    assert partner.name == "Contoso Ltd"
    assert list(partner.linked_resellers.all()) == [reseller]
    event = Event.objects.get(action="partner.updated")
    assert (event.smart_account, event.actor) == (holding, staff)
    assert event.detail["name"] == {"from": "Contoso", "to": "Contoso Ltd"}
    assert event.detail["linked_resellers"] == {"added": ["Fabrikam"], "removed": []}


def test_partners_are_not_deleted_in_the_back_office(staff_client):
    partner = f.PartnerFactory()
    assert staff_client.get(admin_url(partner, "delete")).status_code == 403


# --- users: added by user_create; flags and email kept by their rules --------------------------

def test_staff_who_may_change_users_cannot_make_anyone_staff_or_superuser(client):
    from django.contrib.auth.models import Permission

    clerk = f.UserFactory(email="clerk@vendor.example", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(clerk)
    url = admin_url(clerk, "change")
    data = change_form_data(client, url) | {"is_superuser": "on", "is_staff": "on", "name": "Clerk"}

    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    clerk.refresh_from_db()
    assert clerk.name == "Clerk"
    assert not clerk.is_superuser


def test_a_users_email_is_not_changed_by_hand(staff_client):
    user = f.UserFactory(email="pat@acme.example")
    url = admin_url(user, "change")
    data = change_form_data(staff_client, url) | {"email": "mallory@evil.example"}

    staff_client.post(url, data)

    user.refresh_from_db()
    assert user.email == "pat@acme.example"


def test_adding_a_user_goes_through_user_create_with_a_verified_address(staff_client):
    from allauth.account.models import EmailAddress

    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "New.Person@Example.com", "password1": "a-long enough pass", "password2": "a-long enough pass"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.person@example.com")
    assert EmailAddress.objects.filter(user=user, email="new.person@example.com", verified=True, primary=True).exists()


# --- second factors: turned off through the service, which stops the user's API keys -----------

def test_staff_remove_a_second_factor_through_the_service_and_the_users_keys_stop(staff_client):
    from allauth.mfa.models import Authenticator

    key = f.ApiKeyFactory()
    totp = Authenticator.objects.create(user=key.user, type=Authenticator.Type.TOTP, data={"secret": "S"})
    Authenticator.objects.create(user=key.user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x"})
    page = staff_client.get(admin_url(totp, "change")).content.decode()
    assert '"S"' not in page and 'name="data"' not in page

    response = staff_client.post(admin_url(totp, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=key.user).exists()
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- no service deletes them: neither does the back office ------------------------------------

def test_products_and_support_cases_are_not_deleted_in_the_back_office(staff_client):
    for obj in (f.ProductFactory(), f.SupportCaseFactory()):
        assert staff_client.get(admin_url(obj, "delete")).status_code == 403
