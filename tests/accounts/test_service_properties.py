"""Properties of the accounts services on whatever people type (tests/properties.py): names in
any script, with surrounding or only whitespace, control characters, NUL bytes and 10,000
characters; domains in capitals, with a trailing dot, IDN, overlong labels; overlong emails.
Either the service succeeds and stores the input normalised (and exactly as the rules say), or
it raises a ValidationError keyed by the field at fault and writes nothing."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accounts import services
from accounts.models import (
    AccessRequest,
    AccessRequestStatus,
    ApiKey,
    Event,
    Invitation,
    Notification,
    Partner,
    SmartAccount,
    SmartAccountRole,
    SupportCase,
    SupportMessage,
    User,
    VirtualAccount,
    normalise_domain,
)
from tests.factories import (
    AccessRequestFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
    VirtualAccountFactory,
)
from tests.properties import (
    PROPERTY_SETTINGS,
    domains,
    emails,
    is_clean,
    names,
    normalised,
    outcome,
    rolled_back,
    texts,
)

pytestmark = pytest.mark.django_db

ACCOUNT_ROWS = (SmartAccount, VirtualAccount, SmartAccountRole, Invitation, Notification, Event)


def valid_name(value, max_length: int) -> bool:
    """The rule for a single-line name: something left once whitespace is collapsed, within the
    column, and nothing a column should not hold."""
    name = normalised(value)
    return 0 < len(name) <= max_length and is_clean(name)


@pytest.fixture
def world(db) -> SimpleNamespace:
    """Built once per test; each example runs in a savepoint rolled back after it."""
    ada = UserFactory(email="ada@acme.com", name="Ada")
    acme = SmartAccountFactory(name="Acme", domain="acme.com")
    SmartAccountRoleFactory(user=ada, content_object=acme)
    partner = PartnerFactory(name="Resale Co")
    asker = UserFactory(email="asker@acme.com")
    return SimpleNamespace(
        ada=ada, acme=acme, us=VirtualAccountFactory(parent=acme.default_virtual_account, name="US"),
        staff=UserFactory(email="stella@vendor.example", is_staff=True, powers="all"), partner=partner,
        rita=PartnerMembershipFactory(partner=partner, user=UserFactory(email="rita@resale.example"), is_admin=True).user,
        cid=UserFactory(email="cid@globex.example"), carl=UserFactory(email="carl@acme.com"), asker=asker,
        pending=AccessRequestFactory(smart_account=acme, requester=UserFactory(email="pending@acme.com")),
    )


@PROPERTY_SETTINGS
@given(name=names, domain=domains)
def test_smart_account_create_stores_the_name_and_domain_normalised(world, name, domain):
    ada = world.ada
    with rolled_back():
        sa = outcome(lambda: services.smart_account_create(name=name, domain=domain, actor=ada),
                     fields={"name", "domain"}, models=ACCOUNT_ROWS)
        # Ada may create an account for her own domain only, however she types it.
        assert (sa is not None) == (valid_name(name, 200) and normalise_domain(domain) == "acme.com")
        if sa is not None:
            sa = SmartAccount.objects.get(pk=sa.pk)
            assert sa.name == normalised(name)
            assert sa.domain == "acme.com"
            assert sa.default_virtual_account.name == VirtualAccount.ROOT_NAME


@PROPERTY_SETTINGS
@given(name=names, domain=domains, contact=st.data())
def test_smart_account_request_checks_name_domain_and_contact(world, name, domain, contact):
    partner_user, cid = world.rita, world.cid
    contact_email = contact.draw(emails([cid.email, partner_user.email]))
    with rolled_back():
        sa = outcome(
            lambda: services.smart_account_request(name=name, domain=domain, contact_email=contact_email, actor=partner_user),
            fields={"name", "domain", "contact_email"}, models=ACCOUNT_ROWS,
        )
        expected = (valid_name(name, 200) and normalise_domain(domain) == "globex.example"
                    and contact_email.strip().lower() == cid.email)
        assert (sa is not None) == expected
        if sa is not None:
            assert SmartAccount.objects.filter(pk=sa.pk, name=normalised(name), domain="globex.example",
                                               status="new").exists()
            assert Invitation.objects.get(smart_account=sa).email == cid.email


@PROPERTY_SETTINGS
@given(name=names, description=texts)
def test_virtual_account_create_and_rename_store_clean_names(world, name, description):
    ada, root, us = world.ada, world.acme.default_virtual_account, world.us
    with rolled_back():
        va = outcome(lambda: services.virtual_account_create(parent=root, name=name, actor=ada, description=description),
                     fields={"name", "description"}, models=ACCOUNT_ROWS)
        taken = normalised(name).lower() == "us"
        assert (va is not None) == (valid_name(name, 100) and not taken and is_clean(description[:300]))
        if va is not None:
            va = VirtualAccount.objects.get(pk=va.pk)
            assert va.name == normalised(name) and is_clean(va.description) and len(va.description) <= 300
    with rolled_back():
        renamed = outcome(lambda: services.virtual_account_rename(virtual_account=us, name=name, actor=ada),
                          fields={"name"}, models=ACCOUNT_ROWS)
        assert (renamed is not None) == valid_name(name, 100)
        if renamed is not None:
            assert VirtualAccount.objects.get(pk=us.pk).name == normalised(name)
        else:
            assert VirtualAccount.objects.get(pk=us.pk).name == "US"


@PROPERTY_SETTINGS
@given(name=names)
def test_partner_and_holding_account_names(world, name):
    staff, rita = world.staff, world.rita
    with rolled_back():
        created = outcome(lambda: services.partner_create(name=name, kind="reseller", actor=staff),
                          fields={"name", "kind"}, models=(Partner,))
        assert (created is not None) == (valid_name(name, 200) and normalised(name).lower() != "resale co")
        if created is not None:
            assert Partner.objects.get(pk=created.pk).name == normalised(name)
    with rolled_back():
        holding = outcome(lambda: services.holding_account_create(name=name, actor=rita),
                          fields={"name"}, models=ACCOUNT_ROWS)
        assert (holding is not None) == valid_name(name, 200)
        if holding is not None:
            assert SmartAccount.objects.get(pk=holding.pk).name == normalised(name)


@PROPERTY_SETTINGS
@given(name=names)
def test_api_key_names(world, name):
    with rolled_back():
        made = outcome(lambda: services.api_key_create(user=world.ada, name=name), fields={"name"}, models=(ApiKey,))
        # No name at all is the default name.
        assert (made is not None) == (name == "" or valid_name(name, 100))
        if made is not None:
            key, raw = made
            assert ApiKey.objects.get(pk=key.pk).name == (normalised(name) or "API key")


@PROPERTY_SETTINGS
@given(data=st.data(), name=names)
def test_user_create_checks_the_email_and_stores_a_clean_name(world, data, name):
    staff = world.staff
    email = data.draw(emails([staff.email, "new.hire@acme.com"]))
    with rolled_back():
        user = outcome(
            lambda: services.user_create(email=email, password="correct horse battery staple", name=name, actor=staff),
            fields={"email", "password", "name"}, models=(User,),
        )
        if email.strip().lower() == "new.hire@acme.com":
            assert (user is not None) == is_clean(name)
        if user is not None:
            user = User.objects.get(pk=user.pk)
            assert user.email == email.strip().lower() and len(user.email) <= 254
            assert user.name == normalised(name)[:150] and is_clean(user.name)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_role_grant_finds_the_user_by_email_or_says_which_field(world, data):
    ada, acme, carl = world.ada, world.acme, world.carl
    email = data.draw(emails([carl.email, ada.email]))
    role = data.draw(st.sampled_from(["sa_user", "sa_viewer", "va_user", "owner", ""]))
    with rolled_back():
        va = acme.default_virtual_account if role == "va_user" else None
        granted = outcome(
            lambda: services.role_grant(smart_account=acme, email=email, role=role, actor=ada, virtual_account=va),
            fields={"user_email", "role", "virtual_account"}, models=ACCOUNT_ROWS,
        )
        if granted is not None:
            assert granted.user.email in {carl.email, ada.email}
            assert email.strip().lower() == granted.user.email


@PROPERTY_SETTINGS
@given(message=texts, reason=texts)
def test_access_request_message_and_reason_are_stored_clean(world, message, reason):
    ada, acme, asker, pending = world.ada, world.acme, world.asker, world.pending
    with rolled_back():
        request = outcome(lambda: services.access_request_create(smart_account=acme, actor=asker, message=message),
                          fields={"message"}, models=(AccessRequest, *ACCOUNT_ROWS))
        assert (request is not None) == is_clean(message[:2000])
        if request is not None:
            stored = AccessRequest.objects.get(pk=request.pk).message
            assert is_clean(stored) and len(stored) <= 2000
    with rolled_back():
        denied = outcome(lambda: services.access_request_deny(access_request=pending, actor=ada, reason=reason),
                         fields={"reason"}, models=(AccessRequest, *ACCOUNT_ROWS))
        assert (denied is not None) == is_clean(reason[:2000])
        pending.refresh_from_db()
        assert pending.status == (AccessRequestStatus.DENIED if denied else AccessRequestStatus.PENDING)


@PROPERTY_SETTINGS
@given(scope_wanted=names)
def test_access_request_scope_wanted_is_stored_as_one_clean_line(world, scope_wanted):
    with rolled_back():
        request = outcome(lambda: services.access_request_create(smart_account=world.acme, actor=world.asker,
                                                                 scope_wanted=scope_wanted),
                          fields={"scope_wanted"}, models=(AccessRequest, *ACCOUNT_ROWS))
        words = normalised(scope_wanted)
        assert (request is not None) == (len(words) <= 200 and is_clean(words))
        if request is not None:
            assert AccessRequest.objects.get(pk=request.pk).scope_wanted == words


@PROPERTY_SETTINGS
@given(subject=names, body=texts, order_number=names)
def test_support_case_subject_body_and_order_number(world, subject, body, order_number):
    with rolled_back():
        case = outcome(
            lambda: services.support_case_open(actor=world.ada, subject=subject, body=body, smart_account=world.acme,
                                               order_number=order_number),
            fields={"subject", "body", "order_number"}, models=(SupportCase, SupportMessage),
        )
        expected = (valid_name(subject, 200) and body.strip() != "" and is_clean(body.strip())
                    and is_clean(order_number.strip()[:40]))
        assert (case is not None) == expected
        if case is not None:
            case = SupportCase.objects.get(pk=case.pk)
            assert case.subject == normalised(subject) and case.order_number == order_number.strip()[:40]
            assert case.messages.get().body == body.strip()
