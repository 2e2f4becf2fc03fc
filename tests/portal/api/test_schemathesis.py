"""Every operation of /api/v1/schema/ fuzzed by Schemathesis, in-process (the WSGI application),
as the SA admin of a seeded account: no server error, and every answer (status code, content type,
headers, body) is one the schema documents.

Who calls: `ada` is SA admin of Acme, admin of the reseller Acme Resellers and a member of its
holding account, and the named contact of a `new` account, so that partner and contact operations
reach their services instead of stopping at 403. Staff-only operations are fuzzed a second time
as staff (`STAFF_ONLY`). Operations the schema secures with the device secret are called as the
world's device (`Authorization: Bearer <device secret>`: the id in the path must be that device's,
any other id is the 401 case); those with no security (registration, key verification) without
credentials. No operation is left out: the list comes from the schema itself.

What is sent, per operation (`MAX_EXAMPLES` cases, derandomized: the same cases every run):
- cases of the world: path ids of existing objects (`existing_ids`), JSON bodies whose fields that
  name things (`sku`, `virtual_account`, `lines`, `token`, emails…) mostly carry the world's values
  (`_realistic`), valid and invalid (Schemathesis' positive and negative modes);
- cases of the schema alone: whatever Schemathesis generates, in every documented media type;
- for the writes, requests known to succeed (`good`), so the success answers are checked too.

Each case runs in a savepoint rolled back afterwards: it sees the world as built, whatever the cases
before it did (closed the caller's account, deleted a Virtual Account…).

Schemathesis seldom puts a NUL in a query string, which PostgreSQL refuses in any text: every query
parameter of the schema is also sent one (test_a_nul_in_any_query_parameter_is_a_client_error).
"""
from __future__ import annotations

import datetime
from contextlib import contextmanager
from functools import cache
from types import SimpleNamespace

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from accounts.models import Role
from licensing import services as licensing_services
from orders import services as order_services

from tests.factories import (
    AccessRequestFactory,
    ApiKeyFactory,
    ClassicLicenseFactory,
    DeviceFactory,
    DeviceUsageFactory,
    EntitlementFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    ProductFactory,
    RegistrationTokenFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
SHIP_DAY = datetime.date(2025, 1, 31)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@cache
def api_schema():
    """The schema as the running app serves it (loaded once, through the WSGI application)."""
    from portal.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


def _operations() -> list:
    return [result.ok() for result in api_schema().get_all_operations()]


STAFF_ONLY = {
    "POST /api/v1/users/", "POST /api/v1/partners/", "POST /api/v1/products/", "POST /api/v1/orders/{id}/ship/",
}
CALLERS = [(label, "ada") for label in sorted(op.label for op in _operations())] + [
    (label, "staff") for label in sorted(STAFF_ONLY)
]


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The world, built once per module (and worker) in a transaction that is rolled back at the
    end; each test's `db` savepoint and each example's own keep it as built."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), in_process_requests():
        with transaction.atomic():
            yield _build_world()
            transaction.set_rollback(True)


@contextmanager
def in_process_requests():
    """Requests reach the app in this thread, inside the test's transaction: Django must not close
    the connection at the start and end of each (Django's own test client arranges the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _build_world() -> SimpleNamespace:
    ada = UserFactory(email="ada@acme.com", name="Ada Admin")
    staff = UserFactory(email="stella@vendor.example", is_staff=True, powers="all")
    colleague = UserFactory(email="carl@acme.com")
    asker = UserFactory(email="asker@acme.com")

    partner = PartnerFactory(name="Acme Resellers")
    PartnerMembershipFactory(partner=partner, user=ada, is_admin=True)
    partner_colleague = PartnerMembershipFactory(partner=partner, user=UserFactory(email="pat@acme-resellers.example"))
    holding = HoldingAccountFactory(partner=partner, name="Acme Resellers Stock")
    HoldingMembershipFactory(smart_account=holding, user=ada)
    holding_colleague = HoldingMembershipFactory(smart_account=holding, user=partner_colleague.user)
    newcomer = PartnerMembershipFactory(partner=partner, user=UserFactory(email="nina@acme-resellers.example")).user
    # Pending invitations to join the partner: one to withdraw, one for Ada (she belongs to a partner already).
    invitation = account_services.partner_member_invite(partner=partner, email="olga@else.example", actor=ada)
    for_ada = account_services.partner_member_invite(partner=PartnerFactory(name="Other Resellers"), email=ada.email,
                                                     actor=staff)

    acme = SmartAccountFactory(name="Acme", domain="acme.com")
    root = acme.default_virtual_account
    us = VirtualAccountFactory(parent=root, name="US")
    finance = VirtualAccountFactory(parent=us, name="Finance")
    emea = VirtualAccountFactory(parent=root, name="EMEA")
    SmartAccountRoleFactory(user=ada, content_object=acme, role=Role.SA_ADMIN)
    # A second admin: Ada may close her own user account (the last admin of an account may not).
    SmartAccountRoleFactory(user=UserFactory(email="bea@acme.com"), content_object=acme, role=Role.SA_ADMIN)
    sa_role = SmartAccountRoleFactory(user=colleague, content_object=acme, role=Role.SA_USER)
    va_role = VirtualAccountRoleFactory(user=UserFactory(email="vera@acme.com"), content_object=emea, role=Role.VA_USER)
    fresh = SmartAccountFactory(name="Initech", domain="acme.com", new=True, contact=ada, partner=partner,
                                requested_by=ada)

    smart = ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    subscription = ProductFactory(sku="DNA-ADV-1Y", name="DNA Advantage", term_months=12)
    classic = ProductFactory(sku="ASA-PAK-50", name="ASA 50 users", classic=True, smart_equivalent=smart)
    mandatory = ProductFactory(sku="C9300-DNA-E", name="Catalyst DNA Essentials", sa_required=True)
    EntitlementFactory(virtual_account=root, product=smart, quantity=10)
    EntitlementFactory(virtual_account=us, product=smart, quantity=5)
    EntitlementFactory(virtual_account=us, product=subscription, quantity=3,
                       starts_on=SHIP_DAY, ends_on=SHIP_DAY + datetime.timedelta(days=365))
    token = RegistrationTokenFactory(virtual_account=us)
    device = DeviceFactory(virtual_account=us)
    DeviceUsageFactory(device=device, product=smart, count=2)
    pak = ClassicLicenseFactory(smart_account=acme, product=classic, quantity=5)
    registered = ClassicLicenseFactory(smart_account=acme, product=classic, quantity=2)
    license_key = licensing_services.classic_license_register(pak=registered, serial_number="FOC1234X0AB", actor=ada)
    access_request = AccessRequestFactory(smart_account=acme, requester=asker)
    case = SupportCaseFactory(user=ada, smart_account=acme)
    SupportMessageFactory(case=case)
    key = ApiKeyFactory(user=ada)
    other_key = ApiKeyFactory(user=ada)
    staff_key = ApiKeyFactory(user=staff)

    order = order_services.order_place(
        actor=ada, end_customer_name="Globex Corp", end_customer_email="it@globex.example",
        lines=[
            {"sku": smart.sku, "quantity": 4, "smart_account": holding},
            {"sku": subscription.sku, "quantity": 2, "smart_account": acme, "virtual_account": us},
            {"sku": mandatory.sku, "quantity": 1, "smart_account": holding},
        ],
    )
    shipped = order_services.order_place(
        actor=ada, end_customer_name="Globex Corp", end_customer_email="it@globex.example",
        lines=[{"sku": smart.sku, "quantity": 6, "smart_account": holding}],
    )
    order_services.order_ship(order=shipped, actor=staff, shipped_on=SHIP_DAY)

    vas = [root, us, finance, emea]
    lines = [*order.lines.all(), *shipped.lines.all()]
    held = shipped.lines.get()
    # Requests known to succeed, so that the success answers of the writes are checked too (random
    # bodies seldom get past the first rule).
    good = {
        "POST /api/v1/orders/": [(None, {
            "end_customer_name": "Globex Corp", "end_customer_email": "it@globex.example",
            "lines": [{"sku": smart.sku, "quantity": 2, "smart_account": acme.pk, "virtual_account": us.pk},
                      {"sku": subscription.sku, "quantity": 1, "smart_account": holding.pk},
                      {"sku": mandatory.sku, "quantity": 1, "delegate_to_end_customer": True}],
        })],
        "POST /api/v1/orders/{id}/ship/": [({"id": order.pk}, {}), ({"id": order.pk}, {"shipped_on": "2025-01-31"})],
        "POST /api/v1/order-lines/move/": [(None, {"lines": [held.pk], "smart_account": acme.pk, "virtual_account": us.pk})],
        "POST /api/v1/license-transfers/": [(None, {
            "from_virtual_account": root.pk, "to_virtual_account": emea.pk, "lines": [{"sku": smart.sku, "quantity": 2}],
        })],
        "POST /api/v1/smart-accounts/": [
            (None, {"kind": "customer", "name": "Acme Labs", "domain": "acme.com"}),
            (None, {"kind": "customer", "name": "Acme Research", "domain": "acme.com", "contact_email": colleague.email}),
            (None, {"kind": "holding", "name": "Second stock"}),
        ],
        "PATCH /api/v1/smart-accounts/{id}/": [({"id": acme.pk}, {"default_virtual_account": us.pk})],
        "POST /api/v1/smart-accounts/{id}/activate/": [({"id": fresh.pk}, {"grant_partner_role": "sa_user"})],
        "POST /api/v1/smart-accounts/{id}/roles/": [
            ({"id": acme.pk}, {"user_email": asker.email, "role": "sa_viewer"}),
            ({"id": acme.pk}, {"user_email": asker.email, "role": "va_user", "virtual_account": us.pk}),
        ],
        "POST /api/v1/smart-accounts/{id}/holding-members/": [({"id": holding.pk}, {"email": newcomer.email})],
        "POST /api/v1/smart-accounts/{id}/virtual-accounts/": [({"id": acme.pk}, {"name": "APAC", "parent": root.pk})],
        "POST /api/v1/classic-licenses/{id}/convert/": [({"id": pak.pk}, {"virtual_account": us.pk})],
        "POST /api/v1/access-requests/{id}/approve/": [({"id": access_request.pk}, {"role": "sa_viewer"})],
        "POST /api/v1/devices/register/": [(None, {
            "token": token.token, "serial_number": "FTX0000NEW1", "product_id": "ISR4451-X", "hostname": "branch-9",
        }), (None, {"device_secret": device.secret, "serial_number": device.serial_number, "hostname": "branch-9b"})],
        "POST /api/v1/devices/{id}/usage/": [({"id": device.pk}, {"usage": [{"sku": smart.sku, "count": 30}]})],
        "PATCH /api/v1/devices/{id}/": [({"id": device.pk}, {"virtual_account": finance.pk})],
        "POST /api/v1/me/close/": [(None, {"confirm_email": ada.email})],
        "POST /api/v1/users/": [(None, {"email": "new.hire@acme.com", "password": "correct horse battery staple",
                                        "name": "New Hire"})],
    }
    return SimpleNamespace(
        good=good, keys={"ada": key.key, "staff": staff_key.key}, device=device,
        ids={
            "access-requests": [access_request.pk],
            "api-keys": [other_key.pk, key.pk],
            "classic-licenses": [pak.pk, registered.pk],
            "devices": [device.pk],
            "orders": [order.pk, shipped.pk],
            "partners": [partner.pk],
            "partners/members": [partner_colleague.pk],
            "partner-invitations": [invitation.pk],
            "products": [smart.pk, classic.pk],
            "roles": [str(sa_role.pk), str(va_role.pk)],
            "smart-accounts": [acme.pk, holding.pk, fresh.pk],
            "smart-accounts/holding-members": [holding_colleague.pk],
            "support-cases": [case.pk],
            "tokens": [token.pk],
            "virtual-accounts": [va.pk for va in vas],
        },
        values={
            "sku": [smart.sku, subscription.sku, classic.sku, mandatory.sku],
            "smart_account": [acme.pk, holding.pk, fresh.pk],
            "virtual_account": [va.pk for va in vas],
            "virtual_accounts": [va.pk for va in vas],
            "from_virtual_account": [root.pk, us.pk],
            "to_virtual_account": [finance.pk, emea.pk],
            "parent": [root.pk, us.pk, emea.pk],
            "lines": [line.pk for line in lines],
            "token": [token.token, account_services.invitation_token(for_ada)],
            "device_secret": [device.secret],
            "email": [colleague.email, asker.email, "new.hire@acme.com"],
            "user_email": [colleague.email, asker.email],
            "contact_email": [ada.email, colleague.email],
            "domain": ["acme.com", "ACME.com"],
            "reseller": [partner.pk],
            "distributor": [partner.pk],
            "serial_number": [device.serial_number, "FOC1234X0AB"],
            "license_key": [license_key],
            "confirm_email": [ada.email],
            "quantity": [1, 3],
            "count": [0, 4],
            "end_customer_email": ["it@globex.example"],
            "password": ["correct horse battery staple"],
            "grant_partner_role": ["sa_user", "sa_viewer"],
        },
    )


def existing_ids(path: str, world: SimpleNamespace) -> list[dict]:
    """Path parameters naming objects of the world, for an operation's path template."""
    parts = path.removeprefix("/api/v1/").strip("/").split("/")
    resource = parts[0]
    if "{member_id}" in parts:
        members = world.ids[f"{resource}/{parts[2]}"]
        return [{"id": pk, "member_id": member} for pk in world.ids[resource] for member in members]
    return [{"id": pk} for pk in world.ids.get(resource, [])] if "{id}" in parts else []


def _realistic(data, value, world: SimpleNamespace, key: str | None = None):
    """`value` with, in most draws, the fields that name things swapped for the world's values."""

    def swap() -> bool:
        return data.draw(st.sampled_from([True, True, True, False]))

    if isinstance(value, dict):
        return {k: _realistic(data, v, world, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in world.values and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return [data.draw(st.sampled_from(world.values[key])) if swap() else v for v in value]
        return [_realistic(data, v, world) for v in value]
    if key in world.values and swap():
        return data.draw(st.sampled_from(world.values[key]))
    return value


def _credentials(operation, caller: str, world: SimpleNamespace) -> dict:
    """The Authorization header the operation's security asks for."""
    schemes = {name for requirement in operation.definition.raw.get("security") or [] for name in requirement}
    if "deviceSecret" in schemes:
        return {"Authorization": f"Bearer {world.device.secret}"}
    if "apiKey" in schemes:
        return {"Authorization": f"Bearer {world.keys[caller]}"}
    return {}  # a public operation


@pytest.mark.parametrize(("label", "caller"), CALLERS, ids=[f"{caller}:{label}" for label, caller in CALLERS])
def test_operation_conforms_to_schema(label, caller, fuzz_world, db):
    operation = api_schema().find_operation_by_label(label)
    json_body = {"media_type": "application/json"} if len(operation.body) else {}
    world_ids = existing_ids(operation.path, fuzz_world)
    assert world_ids or "{" not in operation.path, f"{label}: give the world objects for its path ({operation.path})"
    ids = st.sampled_from(world_ids or [None])
    realistic = [  # (body to be made realistic?, case)
        ids.flatmap(lambda ids, mode=mode: operation.as_strategy(generation_mode=mode, path_parameters=ids, **json_body))
        .map(lambda case: (True, case))
        for mode in MODES
    ]
    schema_only = [operation.as_strategy(generation_mode=mode).map(lambda case: (False, case)) for mode in MODES]
    good = [
        st.sampled_from(fuzz_world.good[label]).flatmap(
            lambda good: operation.as_strategy(path_parameters=good[0], body=good[1], media_type="application/json")
        ).map(lambda case: (False, case))
    ] if label in fuzz_world.good else []
    credentials = _credentials(operation, caller, fuzz_world)

    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data(), drawn=st.one_of(good + realistic + schema_only))
    def run(data, drawn):
        make_realistic, case = drawn
        if make_realistic and isinstance(case.body, (dict, list)):
            case.body = _realistic(data, case.body, fuzz_world)
        # The caller authenticates with its key; the session cookie the schema also allows is not sent.
        case.cookies = {}
        with transaction.atomic():
            case.call_and_validate(headers=credentials, checks=CHECKS)
            transaction.set_rollback(True)

    run()


QUERIED = sorted(
    op.label for op in _operations()
    if any(param.location.value == "query" for param in op.iter_parameters())
)


@pytest.mark.parametrize("label", QUERIED)
def test_a_nul_in_any_query_parameter_is_a_client_error(label, fuzz_world, db):
    """PostgreSQL refuses NUL in text, also in a query's parameters: a filter must answer 400, not
    pass it on to the database (Schemathesis seldom sends one)."""
    operation = api_schema().find_operation_by_label(label)
    params = [param.name for param in operation.iter_parameters() if param.location.value == "query"]
    ids = (existing_ids(operation.path, fuzz_world) or [{}])[0]
    path = operation.path.format(**ids)
    client = Client(HTTP_AUTHORIZATION=_credentials(operation, "ada", fuzz_world).get("Authorization", ""))
    for name in params:
        with transaction.atomic():
            response = client.get(path, {name: "a\x00b"})
            transaction.set_rollback(True)
        # 400, or a filter that ignores what it cannot read (200), or no such page (404 `Invalid page.`).
        assert response.status_code in (200, 400, 404), (
            f"{label} ?{name}=a%00b: {response.status_code} {response.content[:200]!r}")


INTEGER_QUERIED = sorted(
    op.label for op in _operations()
    if any(param.location.value == "query" and param.definition.get("schema", {}).get("type") == "integer"
           for param in op.iter_parameters())
)


@pytest.mark.parametrize("label", INTEGER_QUERIED)
def test_an_integer_beyond_the_database_in_any_query_parameter_is_a_client_error(label, fuzz_world, db):
    """A number beyond the database's integers overflowed a lookup (an OverflowError on SQLite, a
    500 on `GET /api/v1/orders/?holding_account=-345486554927929915080704`). Hypothesis draws such
    numbers only now and then, and which ones depends on the tests run before (it mixes constants
    of the project's loaded modules into its draws): every integer query parameter is sent two."""
    operation = api_schema().find_operation_by_label(label)
    params = [param.name for param in operation.iter_parameters()
              if param.location.value == "query" and param.definition.get("schema", {}).get("type") == "integer"]
    ids = (existing_ids(operation.path, fuzz_world) or [{}])[0]
    path = operation.path.format(**ids)
    client = Client(HTTP_AUTHORIZATION=_credentials(operation, "ada", fuzz_world).get("Authorization", ""))
    for name in params:
        for value in ("-345486554927929915080704", "99999999999999999999"):
            with transaction.atomic():
                response = client.get(path, {name: value})
                transaction.set_rollback(True)
            # 400, or a page size capped (200), or no such page (404 `Invalid page.`).
            assert response.status_code in (200, 400, 404), (
                f"{label} ?{name}={value}: {response.status_code} {response.content[:200]!r}")
