"""Bad inputs to the accounts services: a ValidationError keyed by the field at fault, and
nothing written."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import (
    AccessRequest,
    Event,
    HoldingMembership,
    Invitation,
    Notification,
    PartnerMembership,
    SmartAccount,
    SmartAccountRole,
    VirtualAccount,
    VirtualAccountRole,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = (
    SmartAccount, VirtualAccount, SmartAccountRole, VirtualAccountRole, HoldingMembership, PartnerMembership,
    AccessRequest, Invitation, Notification, Event,
)

BAD_NAMES = {
    "blank": "",
    "whitespace": " \t\n ",
    "none": None,
    "too_long": "N" * 201,  # Smart Account names: at most 200
}
BAD_VA_NAMES = {**BAD_NAMES, "too_long": "V" * 101}  # Virtual Account names: at most 100
BAD_DOMAINS = {
    "one_label": "acme",
    "leading_hyphen": "-acme.com",
    "trailing_hyphen": "acme-.com",
    "space": "ac me.com",
    "unicode": "exämple.com",
    "empty_label": "acme..com",
    "underscore": "ac_me.com",
    "blank": "",
    "at_sign": "ada@acme.com",
    "too_long_label": "a" * 64 + ".com",
}
BAD_EMAILS = {"unknown": "nobody@acme.example", "malformed": "not-an-email", "blank": ""}


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.fixture
def unchanged(db):
    """Asserts, after the test, that no row of the accounts app was written or deleted."""
    before = counts()
    yield
    assert counts() == before


def assert_invalid(field: str, call, **kwargs) -> None:
    with pytest.raises(ValidationError) as excinfo:
        call(**kwargs)
    assert set(excinfo.value.message_dict) == {field}, excinfo.value.message_dict


@pytest.fixture
def ada(db):
    return UserFactory(email="ada@acme.com")


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_smart_account_name_must_be_a_sensible_name(ada, unchanged, name):
    assert_invalid("name", services.smart_account_create, name=name, domain="acme.com", actor=ada)


@pytest.mark.parametrize("domain", BAD_DOMAINS.values(), ids=BAD_DOMAINS.keys())
def test_smart_account_domain_must_be_a_domain(ada, unchanged, domain):
    assert_invalid("domain", services.smart_account_create, name="Acme", domain=domain, actor=ada)


@pytest.mark.parametrize("domain", BAD_DOMAINS.values(), ids=BAD_DOMAINS.keys())
def test_requested_domain_must_be_a_domain(partner_user, unchanged, domain):
    assert_invalid("domain", services.smart_account_request, name="Acme", domain=domain,
                   contact_email="ada@acme.com", actor=partner_user)


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS.keys())
def test_requested_contact_must_be_a_registered_user(partner_user, unchanged, email):
    assert_invalid("contact_email", services.smart_account_request, name="Acme", domain="acme.example",
                   contact_email=email, actor=partner_user)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_requested_account_name_must_be_a_sensible_name(partner_user, ada, unchanged, name):
    assert_invalid("name", services.smart_account_request, name=name, domain="acme.com",
                   contact_email=ada.email, actor=partner_user)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_holding_account_name_must_be_a_sensible_name(partner_user, unchanged, name):
    assert_invalid("name", services.holding_account_create, name=name, actor=partner_user)


@pytest.mark.parametrize("name", BAD_VA_NAMES.values(), ids=BAD_VA_NAMES.keys())
def test_virtual_account_name_must_be_a_sensible_name(acme, acme_admin, unchanged, name):
    assert_invalid("name", services.virtual_account_create, parent=acme.us, name=name, actor=acme_admin)
    assert_invalid("name", services.virtual_account_rename, virtual_account=acme.sales, name=name, actor=acme_admin)


def test_names_of_exactly_the_maximum_length_are_fine(acme, acme_admin):
    va = services.virtual_account_create(parent=acme.us, name="V" * 100, actor=acme_admin)
    assert len(va.name) == 100


@pytest.mark.parametrize("role", ["owner", "", "SA_ADMIN", "view"])
def test_unknown_role_is_refused(acme, acme_admin, unchanged, role):
    assert_invalid("role", services.role_grant, smart_account=acme.sa, email=acme_admin.email, role=role, actor=acme_admin)


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS.keys())
def test_role_grant_needs_a_registered_user(acme, acme_admin, unchanged, email):
    assert_invalid("user_email", services.role_grant, smart_account=acme.sa, email=email, role="sa_user", actor=acme_admin)


def test_closed_users_cannot_be_granted_roles(acme, acme_admin):
    closed = UserFactory(email="gone@acme.example")
    services.user_close(user=closed, actor=closed)
    before = counts()

    assert_invalid("user_email", services.role_grant, smart_account=acme.sa, email="gone@acme.example", role="sa_user",
                   actor=acme_admin)
    assert counts() == before


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS.keys())
def test_holding_member_must_be_a_registered_user(holding, partner_admin, unchanged, email):
    assert_invalid("email", services.holding_member_add, smart_account=holding, email=email, actor=partner_admin)


@pytest.mark.parametrize("email", BAD_EMAILS.values(), ids=BAD_EMAILS.keys())
def test_a_partner_member_staff_add_directly_must_be_a_registered_user(partner, staff_user, unchanged, email):
    assert_invalid("email", services.partner_member_add, partner=partner, email=email, actor=staff_user)


@pytest.mark.parametrize("email", ["not-an-email", ""], ids=["malformed", "blank"])
def test_an_address_invited_to_a_partner_must_be_an_email_address(partner, partner_admin, unchanged, email):
    assert_invalid("email", services.partner_member_invite, partner=partner, email=email, actor=partner_admin)


def test_unknown_activation_role_changes_nothing(partner_user):
    contact = UserFactory(email="carol@cisco.example")
    sa = services.smart_account_request(name="Cisco", domain="cisco.example", contact_email=contact.email, actor=partner_user)
    before = counts()

    assert_invalid("grant_partner_role", services.smart_account_activate, smart_account=sa, actor=contact,
                   grant_partner_role="owner")

    assert counts() == before
    sa.refresh_from_db()
    assert sa.status == "new"
