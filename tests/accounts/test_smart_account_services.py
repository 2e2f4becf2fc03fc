"""Smart Accounts (DESIGN.md §4 flows 2–4): create for yourself, request for a customer and
activate, status changes by staff, Partner Holding Accounts, invitations."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import selectors, services
from accounts.models import (
    Event,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountStatus,
    VirtualAccount,
)
from accounts.permissions import ADMINISTER, HOLD, can, roles_of
from tests.factories import PartnerFactory, PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def actions(sa: SmartAccount) -> list[str]:
    return list(Event.objects.filter(smart_account=sa).order_by("created_at", "id").values_list("action", flat=True))


def error_keys(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


# --- create for yourself (flow 2) -------------------------------------------------------

def test_user_creates_an_active_account_for_their_own_domain_and_becomes_its_admin():
    ada = UserFactory(email="ada@acme.example")

    sa = services.smart_account_create(name="Acme", domain="ACME.example", actor=ada)

    sa.refresh_from_db()
    assert (sa.kind, sa.status, sa.domain) == (SmartAccountKind.CUSTOMER, SmartAccountStatus.ACTIVE, "acme.example")
    assert sa.activated_at is not None
    assert roles_of(ada, sa) == [(Role.SA_ADMIN, None)]
    assert actions(sa) == ["smart_account.created", "role.granted"]


def test_new_account_has_one_root_virtual_account_default_which_is_its_default():
    ada = UserFactory(email="ada@acme.example")

    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=ada)

    root = VirtualAccount.objects.get(smart_account=sa)
    assert (root.name, root.parent_id) == ("DEFAULT", None)
    assert sa.default_virtual_account == root


@pytest.mark.parametrize("domain", ["other.example", "sub.acme.example", "example"])
def test_account_domain_must_be_the_creators_own_email_domain(domain):
    ada = UserFactory(email="ada@acme.example")

    with pytest.raises(ValidationError) as excinfo:
        services.smart_account_create(name="Acme", domain=domain, actor=ada)

    assert error_keys(excinfo) == {"domain"}
    assert not SmartAccount.objects.exists()


def test_unverified_user_cannot_create_an_account():
    ada = UserFactory(email="ada@acme.example", unverified=True)

    with pytest.raises(PermissionDenied):
        services.smart_account_create(name="Acme", domain="acme.example", actor=ada)
    assert not SmartAccount.objects.exists()


def test_account_names_are_unique_per_domain_case_insensitive():
    ada = UserFactory(email="ada@acme.example")
    services.smart_account_create(name="Acme", domain="acme.example", actor=ada)

    with pytest.raises(ValidationError) as excinfo:
        services.smart_account_create(name="ACME", domain="acme.example", actor=ada)

    assert error_keys(excinfo) == {"name"}
    assert SmartAccount.objects.count() == 1


def test_the_same_name_is_fine_in_another_domain_and_a_domain_may_have_several_accounts():
    services.smart_account_create(name="Acme", domain="acme.example", actor=UserFactory(email="a@acme.example"))
    services.smart_account_create(name="Acme", domain="acme.test", actor=UserFactory(email="b@acme.test"))
    services.smart_account_create(name="Acme Labs", domain="acme.example", actor=UserFactory(email="c@acme.example"))

    assert SmartAccount.objects.filter(domain="acme.example").count() == 2
    assert SmartAccount.objects.filter(name="Acme").count() == 2


# --- request for a customer (flow 3) ------------------------------------------------------

@pytest.fixture
def contact(db):
    return UserFactory(email="carol@cisco.com", name="Carol Contact")


def request_for_cisco(partner_user, contact_email="carol@cisco.com", domain="cisco.com", name="Cisco"):
    return services.smart_account_request(name=name, domain=domain, contact_email=contact_email, actor=partner_user)


def test_requested_account_is_new_until_its_contact_activates_it(partner_user, partner, contact):
    sa = request_for_cisco(partner_user)

    sa.refresh_from_db()
    assert (sa.status, sa.contact, sa.requested_by, sa.partner) == (SmartAccountStatus.NEW, contact, partner_user, partner)
    assert sa.default_virtual_account.name == "DEFAULT"
    assert roles_of(contact, sa) == [] and roles_of(partner_user, sa) == []
    assert actions(sa) == ["smart_account.requested"]


def test_contact_receives_an_activation_email_with_a_link(partner_user, contact, mailoutbox, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):
        sa = request_for_cisco(partner_user)

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["carol@cisco.com"]
    assert "Cisco" in message.subject
    link = re.search(re.escape(settings.SITE_URL) + r"/invite/(?P<token>[^/\s]+)/", message.body)
    assert link, message.body
    invitation = selectors.invitation_from_link(
        token=link["token"], purpose=InvitationPurpose.ACTIVATE_ACCOUNT, user=contact
    )
    assert (invitation.smart_account, invitation.purpose) == (sa, InvitationPurpose.ACTIVATE_ACCOUNT)


def test_contact_must_be_a_registered_user(partner_user):
    with pytest.raises(ValidationError) as excinfo:
        request_for_cisco(partner_user, contact_email="nobody@cisco.com")

    assert error_keys(excinfo) == {"contact_email"}
    assert not SmartAccount.objects.exists()


@pytest.mark.parametrize("contact_email", ["carol@sub.cisco.com", "carol@notcisco.com", "carol@cisco.com.evil.example"])
def test_contact_domain_must_match_requested_domain_as_a_whole(partner_user, contact_email):
    UserFactory(email=contact_email)

    with pytest.raises(ValidationError) as excinfo:
        request_for_cisco(partner_user, contact_email=contact_email)

    assert error_keys(excinfo) == {"contact_email"}
    assert not SmartAccount.objects.exists()
    assert not Invitation.objects.exists()


def test_contact_domain_matches_whatever_the_case(partner_user):
    shouty = UserFactory(email="NAME@Cisco.COM")

    sa = services.smart_account_request(name="Cisco", domain="cisco.com", contact_email="name@cisco.com", actor=partner_user)

    assert sa.contact == shouty
    sa2 = services.smart_account_request(name="Cisco EMEA", domain="CISCO.com", contact_email="NAME@Cisco.COM", actor=partner_user)
    assert (sa2.contact, sa2.domain) == (shouty, "cisco.com")


def test_only_partner_users_request_accounts_on_a_customers_behalf(contact):
    outsider = UserFactory(email="olga@elsewhere.example")

    with pytest.raises(PermissionDenied):
        services.smart_account_request(name="Cisco", domain="cisco.com", contact_email=contact.email, actor=outsider)
    assert not SmartAccount.objects.exists()


def test_requested_names_are_unique_per_domain(partner_user, contact):
    request_for_cisco(partner_user)

    with pytest.raises(ValidationError) as excinfo:
        request_for_cisco(partner_user, name="cisco")

    assert error_keys(excinfo) == {"name"}


def test_only_the_named_contact_can_activate(partner_user, contact):
    sa = request_for_cisco(partner_user)
    colleague = UserFactory(email="dave@cisco.com")

    for someone in (colleague, partner_user):
        with pytest.raises(PermissionDenied):
            services.smart_account_activate(smart_account=sa, actor=someone)
    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.NEW


def test_activation_link_is_for_the_named_contact_only(partner_user, contact):
    sa = request_for_cisco(partner_user)
    invitation = Invitation.objects.get(smart_account=sa)
    from django.core import signing

    token = signing.dumps(invitation.key, salt="accounts.invitation")

    with pytest.raises(PermissionDenied):
        selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT, user=UserFactory(email="dave@cisco.com"))
    assert selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT, user=contact) == invitation


def test_activation_makes_the_contact_sa_admin_and_may_grant_the_partner_a_role(partner_user, contact):
    sa = request_for_cisco(partner_user)

    services.smart_account_activate(smart_account=sa, actor=contact, grant_partner_role=Role.SA_USER)

    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.ACTIVE and sa.activated_at is not None
    assert roles_of(contact, sa) == [(Role.SA_ADMIN, None)]
    assert roles_of(partner_user, sa) == [(Role.SA_USER, None)]
    assert actions(sa) == ["smart_account.requested", "smart_account.activated", "role.granted", "role.granted"]
    # The activation link is spent.
    assert not Invitation.objects.filter(smart_account=sa, used_at__isnull=True).exists()


def test_activation_without_a_partner_role_grants_the_partner_nothing(partner_user, contact):
    sa = request_for_cisco(partner_user)

    services.smart_account_activate(smart_account=sa, actor=contact)

    assert roles_of(partner_user, sa) == []
    assert can(contact, ADMINISTER, sa)


@pytest.mark.parametrize("role", ["va_admin", "owner"])
def test_activation_partner_role_must_be_an_sa_role(partner_user, contact, role):
    sa = request_for_cisco(partner_user)

    with pytest.raises(ValidationError) as excinfo:
        services.smart_account_activate(smart_account=sa, actor=contact, grant_partner_role=role)

    assert error_keys(excinfo) == {"grant_partner_role"}
    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.NEW
    assert roles_of(contact, sa) == []


def test_activating_twice_fails(partner_user, contact):
    sa = request_for_cisco(partner_user)
    services.smart_account_activate(smart_account=sa, actor=contact)

    with pytest.raises(ValidationError) as excinfo:
        services.smart_account_activate(smart_account=sa, actor=contact)

    assert error_keys(excinfo) == {"status"}
    assert actions(sa).count("smart_account.activated") == 1


def test_activation_announces_itself_to_the_apps_above(partner_user, contact):
    from accounts.signals import smart_account_activated

    heard = []

    def listener(sender, smart_account, actor, **kwargs):
        heard.append((smart_account.pk, actor))

    sa = request_for_cisco(partner_user)
    smart_account_activated.connect(listener)
    try:
        services.smart_account_activate(smart_account=sa, actor=contact)
    finally:
        smart_account_activated.disconnect(listener)

    assert heard == [(sa.pk, contact)]


# --- suspend / reinstate --------------------------------------------------------------------

def test_only_staff_suspend_and_reinstate(acme, acme_admin, staff_user):
    with pytest.raises(PermissionDenied):
        services.smart_account_suspend(smart_account=acme.sa, actor=acme_admin)

    services.smart_account_suspend(smart_account=acme.sa, actor=staff_user)
    acme.sa.refresh_from_db()
    assert acme.sa.status == SmartAccountStatus.SUSPENDED

    with pytest.raises(PermissionDenied):
        services.smart_account_reinstate(smart_account=acme.sa, actor=acme_admin)
    services.smart_account_reinstate(smart_account=acme.sa, actor=staff_user)
    acme.sa.refresh_from_db()
    assert acme.sa.status == SmartAccountStatus.ACTIVE
    assert actions(acme.sa)[-2:] == ["smart_account.suspended", "smart_account.reinstated"]


def test_suspending_a_suspended_account_fails(acme, staff_user):
    services.smart_account_suspend(smart_account=acme.sa, actor=staff_user)

    with pytest.raises(ValidationError) as excinfo:
        services.smart_account_suspend(smart_account=acme.sa, actor=staff_user)
    assert error_keys(excinfo) == {"status"}


# --- Partner Holding Accounts (flow 4) --------------------------------------------------------

def test_partner_user_creates_a_holding_account_and_joins_it(partner, partner_user):
    holding = services.holding_account_create(name="Parking", actor=partner_user)

    assert (holding.kind, holding.partner, holding.status) == (SmartAccountKind.HOLDING, partner, SmartAccountStatus.ACTIVE)
    assert holding.default_virtual_account.name == "DEFAULT"
    assert HoldingMembership.objects.filter(smart_account=holding, user=partner_user, notify=True).exists()
    assert can(partner_user, HOLD, holding)
    assert actions(holding) == ["holding_account.created"]


def test_only_partner_users_create_holding_accounts():
    with pytest.raises(ValidationError) as excinfo:
        services.holding_account_create(name="Parking", actor=UserFactory())

    assert error_keys(excinfo) == {"kind"}
    assert not SmartAccount.objects.exists()


def test_unverified_partner_user_cannot_create_a_holding_account(partner):
    unverified = UserFactory(unverified=True)
    PartnerMembershipFactory(partner=partner, user=unverified)

    with pytest.raises(PermissionDenied):
        services.holding_account_create(name="Parking", actor=unverified)
    assert not SmartAccount.objects.exists()


def test_holding_accounts_are_only_created_for_ones_own_partner(partner_user):
    with pytest.raises(PermissionDenied):
        services.holding_account_create(name="Parking", actor=partner_user, partner=PartnerFactory())
    assert not SmartAccount.objects.exists()


def test_holding_account_names_are_unique_per_partner(partner, partner_user):
    services.holding_account_create(name="Parking", actor=partner_user)

    with pytest.raises(ValidationError) as excinfo:
        services.holding_account_create(name="PARKING", actor=partner_user)
    assert error_keys(excinfo) == {"name"}

    # Another partner may use the name.
    other = UserFactory()
    PartnerMembershipFactory(user=other)
    services.holding_account_create(name="Parking", actor=other)
    assert SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, name="Parking").count() == 2


def test_holding_members_must_belong_to_the_partner(holding, partner_admin):
    outsider = UserFactory(email="olga@elsewhere.example")
    other_partners_user = UserFactory(email="oscar@other.example")
    PartnerMembershipFactory(user=other_partners_user)

    for user in (outsider, other_partners_user):
        with pytest.raises(ValidationError) as excinfo:
            services.holding_member_add(smart_account=holding, email=user.email, actor=partner_admin)
        assert error_keys(excinfo) == {"email"}
    assert not HoldingMembership.objects.filter(smart_account=holding).exists()


def test_partner_admin_adds_partner_users_and_a_user_may_join_themselves(holding, partner, partner_admin, partner_user):
    colleague = UserFactory()
    PartnerMembershipFactory(partner=partner, user=colleague)

    services.holding_member_add(smart_account=holding, email=colleague.email, notify=False, actor=partner_admin)
    services.holding_member_add(smart_account=holding, email=partner_user.email, actor=partner_user)

    assert set(HoldingMembership.objects.filter(smart_account=holding).values_list("user__email", "notify")) == {
        (colleague.email, False), (partner_user.email, True),
    }
    assert can(colleague, HOLD, holding) and can(partner_user, HOLD, holding)


def test_partner_user_cannot_add_someone_else(holding, partner, partner_user):
    colleague = UserFactory()
    PartnerMembershipFactory(partner=partner, user=colleague)

    with pytest.raises(PermissionDenied):
        services.holding_member_add(smart_account=holding, email=colleague.email, actor=partner_user)
    assert not HoldingMembership.objects.filter(smart_account=holding).exists()


def test_customer_accounts_have_no_holding_members(acme, partner_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.holding_member_add(smart_account=acme.sa, email=partner_admin.email, actor=partner_admin)
    assert error_keys(excinfo) == {"smart_account"}


# --- invitations: single-use and expiring ---------------------------------------------------

def test_invitation_is_single_use(acme):
    invitation, path = services.invitation_create(
        purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email="Carol@Acme.example", smart_account=acme.sa
    )
    token = path.strip("/").rpartition("/")[2]
    assert selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT) == invitation
    assert invitation.email == "carol@acme.example"

    services.invitation_use(invitation=invitation)

    with pytest.raises(ValidationError, match="already been used"):
        services.invitation_use(invitation=invitation)
    with pytest.raises(ValidationError, match="already been used"):
        selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT)


def test_invitation_expires(acme):
    invitation, path = services.invitation_create(
        purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email="carol@acme.example", smart_account=acme.sa
    )
    token = path.strip("/").rpartition("/")[2]
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(ValidationError, match="expired"):
        selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT)


def test_invitation_link_expires_with_its_signature_too(acme, settings):
    invitation, path = services.invitation_create(
        purpose=InvitationPurpose.ACTIVATE_ACCOUNT, email="carol@acme.example", smart_account=acme.sa
    )
    token = path.strip("/").rpartition("/")[2]
    settings.INVITATION_MAX_AGE_DAYS = 0  # the signature is now older than the allowed age

    with pytest.raises(ValidationError, match="expired"):
        selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT)


@pytest.mark.parametrize("token", ["", "garbage", "eyJhIjoxfQ:1abc:forged"])
def test_tampered_invitation_link_is_refused(token):
    with pytest.raises(ValidationError, match="invalid"):
        selectors.invitation_from_link(token=token, purpose=InvitationPurpose.ACTIVATE_ACCOUNT)

