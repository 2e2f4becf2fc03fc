"""Roles (DESIGN.md §3) and access requests (§4 flow 1): who grants what, and the audit trail."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts import selectors, services
from accounts.models import (
    AccessRequest,
    AccessRequestStatus,
    Event,
    Role,
    SmartAccountRole,
    VirtualAccountRole,
)
from accounts.permissions import ADMINISTER, OPERATE, VIEW, can, roles_of
from tests.factories import AccessRequestFactory, UserFactory

from .conftest import give_role

pytestmark = pytest.mark.django_db


def error_keys(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def actions(sa) -> list[str]:
    return list(Event.objects.filter(smart_account=sa).order_by("created_at", "id").values_list("action", flat=True))


@pytest.fixture
def vic(db):
    """A registered user with no role yet."""
    return UserFactory(email="vic@acme.example", name="Vic")


@pytest.fixture
def va_admin_of_us(acme):
    user = UserFactory(email="uma@acme.example")
    give_role(user, Role.VA_ADMIN, acme.us)
    return user


# --- grant ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_sa_admin_grants_any_role(acme, acme_admin, vic, role):
    va = acme.finance if role.startswith("va_") else None

    row = services.role_grant(smart_account=acme.sa, email="VIC@acme.example", role=role, virtual_account=va, actor=acme_admin)

    assert roles_of(vic, acme.sa) == [(role, va)]
    assert (row.role, row.granted_by) == (role, acme_admin)
    event = Event.objects.get(smart_account=acme.sa, action="role.granted")
    assert (event.actor, event.detail["user"], event.detail["role"]) == (acme_admin, vic.email, role)
    assert event.virtual_account == va


def test_va_admin_grants_va_roles_within_its_subtree(acme, va_admin_of_us, vic):
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, virtual_account=acme.finance, actor=va_admin_of_us)
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_VIEWER, virtual_account=acme.us, actor=va_admin_of_us)

    assert set(roles_of(vic, acme.sa)) == {(Role.VA_USER, acme.finance), (Role.VA_VIEWER, acme.us)}


@pytest.mark.parametrize(("role", "where"), [
    (Role.VA_USER, "emea"),  # outside its subtree
    (Role.VA_ADMIN, "root"),  # above it
    (Role.SA_VIEWER, None),  # an SA role
    (Role.SA_ADMIN, None),
])
def test_va_admin_cannot_grant_outside_its_subtree_nor_sa_roles(acme, va_admin_of_us, vic, role, where):
    va = getattr(acme, where) if where else None

    with pytest.raises(PermissionDenied):
        services.role_grant(smart_account=acme.sa, email=vic.email, role=role, virtual_account=va, actor=va_admin_of_us)
    assert roles_of(vic, acme.sa) == []


@pytest.mark.parametrize("role", [Role.SA_VIEWER, Role.SA_USER, Role.VA_USER, Role.VA_VIEWER])
def test_non_admins_cannot_grant(acme, vic, role):
    granter = UserFactory()
    give_role(granter, role, acme.finance if role.startswith("va_") else acme.sa)

    for new_role, va in ((Role.SA_VIEWER, None), (Role.VA_VIEWER, acme.sacramento)):
        with pytest.raises(PermissionDenied):
            services.role_grant(smart_account=acme.sa, email=vic.email, role=new_role, virtual_account=va, actor=granter)
    assert roles_of(vic, acme.sa) == []
    assert not Event.objects.filter(action="role.granted").exists()


def test_granting_a_new_role_on_the_same_object_replaces_the_old(acme, acme_admin, vic):
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_ADMIN, actor=acme_admin)
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_VIEWER, actor=acme_admin)
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_ADMIN, virtual_account=acme.us, actor=acme_admin)
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, virtual_account=acme.us, actor=acme_admin)

    assert set(roles_of(vic, acme.sa)) == {(Role.SA_VIEWER, None), (Role.VA_USER, acme.us)}
    assert SmartAccountRole.objects.filter(user=vic).count() == 1
    assert VirtualAccountRole.objects.filter(user=vic).count() == 1
    replaced = Event.objects.filter(action="role.granted", detail__role=Role.SA_VIEWER).get()
    assert replaced.detail["replaced"] == [Role.SA_ADMIN]


def test_granting_the_same_role_again_changes_nothing(acme, acme_admin, vic):
    first = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_USER, actor=acme_admin)
    again = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_USER, actor=acme_admin)

    assert first.pk == again.pk
    assert actions(acme.sa).count("role.granted") == 1


def test_va_role_needs_a_virtual_account_of_this_account(acme, acme_admin, vic):
    from tests.factories import SmartAccountFactory

    with pytest.raises(ValidationError) as excinfo:
        services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, actor=acme_admin)
    assert error_keys(excinfo) == {"virtual_account"}

    with pytest.raises(ValidationError) as excinfo:
        services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER,
                            virtual_account=SmartAccountFactory().default_virtual_account, actor=acme_admin)
    assert error_keys(excinfo) == {"virtual_account"}

    with pytest.raises(ValidationError) as excinfo:
        services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_USER, virtual_account=acme.us, actor=acme_admin)
    assert error_keys(excinfo) == {"virtual_account"}
    assert roles_of(vic, acme.sa) == []


def test_holding_accounts_have_members_not_roles(holding, staff_user, partner_user):
    with pytest.raises(ValidationError) as excinfo:
        services.role_grant(smart_account=holding, email=partner_user.email, role=Role.SA_USER, actor=staff_user)
    assert error_keys(excinfo) == {"role"}


# --- revoke -------------------------------------------------------------------------------------

def test_sa_admin_revokes_a_role(acme, acme_admin, vic):
    row = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, virtual_account=acme.finance, actor=acme_admin)

    services.role_revoke(role=row, actor=acme_admin)

    assert roles_of(vic, acme.sa) == []
    assert not can(vic, VIEW, acme.finance)
    event = Event.objects.get(smart_account=acme.sa, action="role.revoked")
    assert event.detail == {"user": vic.email, "role": Role.VA_USER, "scope": "Finance"}
    assert event.virtual_account == acme.finance


def test_va_admin_revokes_va_roles_only_within_its_subtree(acme, acme_admin, va_admin_of_us, vic):
    inside = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, virtual_account=acme.finance, actor=acme_admin)
    outside = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_USER, virtual_account=acme.emea, actor=acme_admin)
    account_wide = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_VIEWER, actor=acme_admin)

    for row in (outside, account_wide):
        with pytest.raises(PermissionDenied):
            services.role_revoke(role=row, actor=va_admin_of_us)
    services.role_revoke(role=inside, actor=va_admin_of_us)

    assert set(roles_of(vic, acme.sa)) == {(Role.VA_USER, acme.emea), (Role.SA_VIEWER, None)}


def test_sa_viewer_cannot_revoke(acme, acme_admin, vic):
    row = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_USER, actor=acme_admin)
    viewer = UserFactory()
    give_role(viewer, Role.SA_VIEWER, acme.sa)

    with pytest.raises(PermissionDenied):
        services.role_revoke(role=row, actor=viewer)
    assert roles_of(vic, acme.sa) == [(Role.SA_USER, None)]


@pytest.mark.parametrize("who", ["self", "staff", "system"])
def test_the_last_sa_admin_cannot_be_revoked(acme, acme_admin, staff_user, who):
    actor = {"self": acme_admin, "staff": staff_user, "system": None}[who]
    row = SmartAccountRole.objects.get(user=acme_admin, content_object=acme.sa)

    with pytest.raises(ValidationError) as excinfo:
        services.role_revoke(role=row, actor=actor)

    assert error_keys(excinfo) == {"role"}
    assert can(acme_admin, ADMINISTER, acme.sa)


def test_the_last_sa_admin_cannot_be_downgraded_either(acme, acme_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.role_grant(smart_account=acme.sa, email=acme_admin.email, role=Role.SA_VIEWER, actor=acme_admin)

    assert error_keys(excinfo) == {"role"}
    assert roles_of(acme_admin, acme.sa) == [(Role.SA_ADMIN, None)]


def test_one_of_two_sa_admins_can_be_revoked_or_downgraded(acme, acme_admin, vic):
    services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_ADMIN, actor=acme_admin)

    services.role_grant(smart_account=acme.sa, email=acme_admin.email, role=Role.SA_USER, actor=vic)

    assert roles_of(acme_admin, acme.sa) == [(Role.SA_USER, None)]
    with pytest.raises(ValidationError):
        services.role_revoke(role=SmartAccountRole.objects.get(user=vic), actor=vic)


def test_role_get_finds_either_kind_of_role_by_id(acme, acme_admin, vic):
    sa_row = SmartAccountRole.objects.get(user=acme_admin)
    va_row = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.VA_VIEWER, virtual_account=acme.us, actor=acme_admin)

    assert selectors.role_get(sa_row.pk) == sa_row
    assert selectors.role_get(str(va_row.pk)) == va_row
    assert selectors.role_get("not-a-uuid") is None


# --- access requests ---------------------------------------------------------------------------

def test_access_request_is_sent_to_the_sa_admins(acme, acme_admin, vic, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = services.access_request_create(smart_account=acme.sa, actor=vic, message="I run Finance.",
                                                 scope_wanted="Finance in the US")

    assert request.status == AccessRequestStatus.PENDING
    assert request.scope_wanted == "Finance in the US"
    assert [m.to for m in mailoutbox] == [[acme_admin.email]]
    assert vic.email in mailoutbox[0].subject and "I run Finance." in mailoutbox[0].body
    assert "Finance in the US" in mailoutbox[0].body
    assert actions(acme.sa) == ["access_request.created"]


def test_requester_names_the_scope_in_words_on_one_clean_line(acme, vic):
    request = services.access_request_create(smart_account=acme.sa, actor=vic, scope_wanted="  Finance\n and  Sales ")
    assert request.scope_wanted == "Finance and Sales"
    assert AccessRequest.objects.get().scope_wanted == "Finance and Sales"


@pytest.mark.parametrize("words", ["x" * 201, "Finance\x00", "Finance\x07"], ids=["too-long", "nul", "bell"])
def test_scope_wanted_is_refused_when_too_long_or_with_control_characters(acme, vic, words):
    with pytest.raises(ValidationError) as excinfo:
        services.access_request_create(smart_account=acme.sa, actor=vic, scope_wanted=words)
    assert error_keys(excinfo) == {"scope_wanted"}
    assert not AccessRequest.objects.exists()


def test_a_new_account_is_not_open_to_access_requests(vic, partner_user):
    contact = UserFactory(email="carol@cisco.example")
    new = services.smart_account_request(name="Cisco", domain="cisco.example", contact_email=contact.email,
                                         actor=partner_user)
    with pytest.raises(ValidationError) as excinfo:
        services.access_request_create(smart_account=new, actor=vic)
    assert error_keys(excinfo) == {"smart_account"}
    assert "not active yet" in excinfo.value.message_dict["smart_account"][0]
    assert not AccessRequest.objects.exists()


def test_one_pending_request_per_user_per_account(acme, acme_admin, vic):
    services.access_request_create(smart_account=acme.sa, actor=vic)

    with pytest.raises(ValidationError) as excinfo:
        services.access_request_create(smart_account=acme.sa, actor=vic)

    assert error_keys(excinfo) == {"smart_account"}
    assert AccessRequest.objects.filter(requester=vic).count() == 1


def test_the_database_also_holds_one_pending_request_per_user(acme, vic):
    AccessRequestFactory(smart_account=acme.sa, requester=vic)

    with pytest.raises(IntegrityError), transaction.atomic():
        AccessRequestFactory(smart_account=acme.sa, requester=vic)


def test_after_a_decision_the_user_may_ask_again(acme, acme_admin, vic):
    first = services.access_request_create(smart_account=acme.sa, actor=vic)
    services.access_request_deny(access_request=first, actor=acme_admin)

    second = services.access_request_create(smart_account=acme.sa, actor=vic)

    assert second.pk != first.pk and second.status == AccessRequestStatus.PENDING


def test_unverified_user_cannot_request_access(acme):
    with pytest.raises(PermissionDenied):
        services.access_request_create(smart_account=acme.sa, actor=UserFactory(unverified=True))
    assert not AccessRequest.objects.exists()


def test_approving_grants_exactly_the_chosen_sa_role(acme, acme_admin, vic, mailoutbox, django_capture_on_commit_callbacks):
    request = services.access_request_create(smart_account=acme.sa, actor=vic, scope_wanted="Finance")

    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_approve(access_request=request, role=Role.SA_VIEWER, actor=acme_admin)

    assert roles_of(vic, acme.sa) == [(Role.SA_VIEWER, None)]
    request.refresh_from_db()
    assert (request.status, request.granted_role, request.decided_by) == (AccessRequestStatus.APPROVED, Role.SA_VIEWER, acme_admin)
    assert [m.to for m in mailoutbox] == [[vic.email]]
    assert "approved" in mailoutbox[0].subject
    assert actions(acme.sa) == ["access_request.created", "role.granted", "access_request.approved"]


def test_approving_grants_exactly_the_chosen_va_role_and_virtual_accounts(acme, acme_admin, vic):
    request = services.access_request_create(smart_account=acme.sa, actor=vic)

    services.access_request_approve(access_request=request, role=Role.VA_USER, virtual_accounts=[acme.finance, acme.paris],
                                    actor=acme_admin)

    assert set(roles_of(vic, acme.sa)) == {(Role.VA_USER, acme.finance), (Role.VA_USER, acme.paris)}
    assert can(vic, OPERATE, acme.sacramento) and not can(vic, VIEW, acme.us) and not can(vic, ADMINISTER, acme.finance)


def test_approval_scope_must_fit_the_role(acme, acme_admin, vic):
    request = services.access_request_create(smart_account=acme.sa, actor=vic)

    with pytest.raises(ValidationError) as excinfo:
        services.access_request_approve(access_request=request, role=Role.VA_USER, actor=acme_admin)
    assert error_keys(excinfo) == {"virtual_accounts"}
    with pytest.raises(ValidationError) as excinfo:
        services.access_request_approve(access_request=request, role=Role.SA_USER, virtual_accounts=[acme.us], actor=acme_admin)
    assert error_keys(excinfo) == {"virtual_accounts"}
    with pytest.raises(ValidationError) as excinfo:
        services.access_request_approve(access_request=request, role="superuser", actor=acme_admin)
    assert error_keys(excinfo) == {"role"}

    request.refresh_from_db()
    assert request.status == AccessRequestStatus.PENDING
    assert roles_of(vic, acme.sa) == []


def test_approving_twice_fails(acme, acme_admin, vic):
    request = services.access_request_create(smart_account=acme.sa, actor=vic)
    services.access_request_approve(access_request=request, role=Role.SA_USER, actor=acme_admin)

    with pytest.raises(ValidationError) as excinfo:
        services.access_request_approve(access_request=request, role=Role.SA_ADMIN, actor=acme_admin)

    assert error_keys(excinfo) == {"status"}
    assert roles_of(vic, acme.sa) == [(Role.SA_USER, None)]
    assert actions(acme.sa).count("access_request.approved") == 1


@pytest.mark.parametrize("role", [Role.SA_USER, Role.SA_VIEWER, Role.VA_ADMIN])
def test_only_sa_admins_decide_access_requests(acme, vic, role):
    decider = UserFactory()
    give_role(decider, role, acme.root if role.startswith("va_") else acme.sa)
    request = services.access_request_create(smart_account=acme.sa, actor=vic)

    with pytest.raises(PermissionDenied):
        services.access_request_approve(access_request=request, role=Role.SA_VIEWER, actor=decider)
    with pytest.raises(PermissionDenied):
        services.access_request_deny(access_request=request, actor=decider)
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.PENDING


def test_deny_with_reason_emails_the_requester(acme, acme_admin, vic, mailoutbox, django_capture_on_commit_callbacks):
    request = services.access_request_create(smart_account=acme.sa, actor=vic)

    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_deny(access_request=request, actor=acme_admin, reason="Ask your manager first.")

    request.refresh_from_db()
    assert (request.status, request.reason) == (AccessRequestStatus.DENIED, "Ask your manager first.")
    assert roles_of(vic, acme.sa) == []
    assert [m.to for m in mailoutbox] == [[vic.email]]
    assert "Ask your manager first." in mailoutbox[0].body
    assert actions(acme.sa) == ["access_request.created", "access_request.denied"]

    with pytest.raises(ValidationError) as excinfo:
        services.access_request_deny(access_request=request, actor=acme_admin)
    assert error_keys(excinfo) == {"status"}


def test_holding_accounts_are_not_joined_by_request(holding, vic):
    with pytest.raises(ValidationError) as excinfo:
        services.access_request_create(smart_account=holding, actor=vic)
    assert error_keys(excinfo) == {"smart_account"}


# --- the audit trail -----------------------------------------------------------------------------

def test_every_grant_revoke_request_approval_and_activation_writes_an_event(acme, acme_admin, vic, partner_user):
    contact = UserFactory(email="carol@cisco.example")
    requested = services.smart_account_request(name="Cisco", domain="cisco.example", contact_email=contact.email,
                                               actor=partner_user)
    services.smart_account_activate(smart_account=requested, actor=contact, grant_partner_role=Role.SA_VIEWER)
    requested.refresh_from_db()  # active now: open to access requests
    row = services.role_grant(smart_account=acme.sa, email=vic.email, role=Role.SA_USER, actor=acme_admin)
    services.role_revoke(role=row, actor=acme_admin)
    request = services.access_request_create(smart_account=acme.sa, actor=vic)
    services.access_request_approve(access_request=request, role=Role.VA_VIEWER, virtual_accounts=[acme.emea], actor=acme_admin)
    denied = services.access_request_create(smart_account=requested, actor=vic)
    services.access_request_deny(access_request=denied, actor=contact)

    assert actions(acme.sa) == [
        "role.granted", "role.revoked", "access_request.created", "role.granted", "access_request.approved",
    ]
    assert actions(requested) == [
        "smart_account.requested", "smart_account.activated", "role.granted", "role.granted",
        "access_request.created", "access_request.denied",
    ]
    # Every event names who did it.
    assert not Event.objects.filter(actor__isnull=True).exists()
    assert set(Event.objects.values_list("actor_label", flat=True)) == {
        partner_user.email, contact.email, acme_admin.email, vic.email,
    }
