"""The world of the role matrix (tests/portal/test_role_matrix.py): one of everything a URL of the
portal can name, built through the services, and a signed-in client per caller.

    Acme (acme.com, active)        DEFAULT ─┬─ Left ─┬─ Left child   licenses, a device, a token
                                            │        └─ Left spare   empty (to delete)
                                            └─ Right               licenses, a device, a token
      a PAK (unregistered), a pending access request, a support case of sa_user, a role to revoke
    Acme Labs (acme.com, new)      requested by the distributor for sa_admin (activation link)
    Dist Networks (distributor)    its admin is "partner_no_consent" (no role in Acme), its member
      └ holding "Dist Stock"       "holding_member" joined the holding account; "spare" did not;
                                   "no_role" is invited to join (pending)
    Order 1 (shipped): held in Dist Stock · delegated to admin@acme.com · to Acme/Left child · a PAK
    Order 2 (booked): to Acme/Left, for staff to ship

The callers (CALLERS) are the columns of DESIGN.md §3: VA roles on "Left" are the right subtree for
anything in "Left child"; VA roles on "Right" are a sibling subtree.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import pytest
from django.core import signing
from django.db import transaction
from django.test import Client, override_settings

from accounts import services as account_services
from accounts.models import (
    AccessRequest,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    VirtualAccount,
    VirtualAccountRole,
)
from licensing import services as licensing_services
from licensing.models import ClassicLicense, Device, LicenseKind, Product, RegistrationToken
from orders import services as order_services
from orders.models import Order, OrderLine, OrderLineState

from tests.factories import UserFactory

# The columns, in the order a failure report lists them.
CALLERS = (
    "anonymous",
    "no_role",  # signed in, nothing anywhere
    "partner_no_consent",  # admin of the distributor that orders for Acme; Acme gave it no role
    "holding_member",  # a plain member of the distributor who joined its holding account
    "va_viewer_sibling", "va_user_sibling", "va_admin_sibling",  # VA roles on Right
    "va_viewer", "va_user", "va_admin",  # VA roles on Left (Left child is in their subtree)
    "sa_viewer", "sa_user", "sa_admin",
    "staff",  # is_staff and is_superuser
)

SHIP_DAY = datetime.date(2025, 3, 3)


@dataclass
class World:
    users: dict
    acme: SmartAccount
    root: VirtualAccount
    left: VirtualAccount
    left_child: VirtualAccount
    left_spare: VirtualAccount
    right: VirtualAccount
    acme_labs: SmartAccount
    activation_token: str
    distributor: object
    dist_stock: SmartAccount
    spare: object  # a member of the distributor, not in its holding account
    spare_membership: PartnerMembership
    partner_invitation: Invitation  # no_role's, to join the distributor
    partner_invitation_token: str
    holding_membership: HoldingMembership  # holding_member's, in Dist Stock
    smart: Product
    subscription: Product
    classic: Product
    order: Order
    order_to_ship: Order
    held_line: OrderLine
    delegated_line: OrderLine
    delegated_token: str
    pak: ClassicLicense
    license_key: str  # of another PAK, registered
    left_token: RegistrationToken
    left_token_secret: str
    left_device: Device
    left_device_secret: str
    right_device: Device
    access_request: AccessRequest
    departing_role: VirtualAccountRole  # a VA viewer on Left child, to revoke
    newcomer: object  # a registered user with nothing, to grant roles to
    support_case: object  # sa_user's
    spare_api_key: object  # sa_user's second key, to revoke
    admin_objects: dict = field(default_factory=dict)  # model label → an instance (every admin-registered model)
    api_keys: dict = field(default_factory=dict)  # caller → raw API key
    clients: dict = field(default_factory=dict)  # caller → signed-in django.test.Client


def _user(email: str, **extra):
    return UserFactory(email=email, name=email.split("@")[0].replace("-", " ").title(), **extra)


def _signed(invitation: Invitation) -> str:
    # The token of an emailed link, as services.invitation_create signs it.
    return signing.dumps(invitation.key, salt="accounts.invitation")


def build_world() -> World:
    users = {
        "no_role": _user("nobody@example.org"),
        "partner_no_consent": _user("admin@dist.example"),
        "holding_member": _user("stock@dist.example"),
        "staff": _user("staff@vendor.example", is_staff=True, is_superuser=True),
    }
    staff = users["staff"]
    sa_admin = users["sa_admin"] = _user("admin@acme.com")

    # Acme and its tree, through the services (sa_admin creates it and grants every role).
    acme = account_services.smart_account_create(name="Acme", domain="acme.com", actor=sa_admin)
    root = acme.default_virtual_account
    left = account_services.virtual_account_create(parent=root, name="Left", actor=sa_admin)
    right = account_services.virtual_account_create(parent=root, name="Right", actor=sa_admin)
    left_child = account_services.virtual_account_create(parent=left, name="Left child", actor=sa_admin)
    left_spare = account_services.virtual_account_create(parent=left, name="Left spare", actor=sa_admin)
    for role in (Role.SA_USER, Role.SA_VIEWER):
        users[role.value] = _user(f"{role.value.split('_')[1]}@acme.com")
        account_services.role_grant(smart_account=acme, email=users[role.value].email, role=role, actor=sa_admin)
    for role in (Role.VA_ADMIN, Role.VA_USER, Role.VA_VIEWER):
        kind = role.value.split("_")[1]
        for name, va in ((role.value, left), (f"{role.value}_sibling", right)):
            users[name] = _user(f"{va.name.lower()}-{kind}@acme.com")
            account_services.role_grant(smart_account=acme, email=users[name].email, role=role, virtual_account=va,
                                        actor=sa_admin)
    departing = _user("departing@acme.com")
    departing_role = account_services.role_grant(smart_account=acme, email=departing.email, role=Role.VA_VIEWER,
                                                 virtual_account=left_child, actor=sa_admin)
    newcomer = _user("newcomer@acme.com")
    applicant = _user("applicant@acme.com")
    access_request = account_services.access_request_create(smart_account=acme, actor=applicant,
                                                            message="I run the Left office.")

    # The distributor, its holding account and its members.
    distributor = account_services.partner_create(name="Dist Networks", kind=PartnerKind.DISTRIBUTOR, actor=staff)
    dist_admin = users["partner_no_consent"]
    account_services.partner_member_add(partner=distributor, email=dist_admin.email, is_admin=True, actor=staff)
    account_services.partner_member_add(partner=distributor, email=users["holding_member"].email, actor=staff)
    spare = _user("spare@dist.example")
    spare_membership = account_services.partner_member_add(partner=distributor, email=spare.email, actor=staff)
    # The distributor invited no_role to join: a pending invitation, its link no_role's alone.
    partner_invitation = account_services.partner_member_invite(partner=distributor, email=users["no_role"].email,
                                                                actor=dist_admin)
    dist_stock = account_services.holding_account_create(name="Dist Stock", actor=users["holding_member"])
    holding_membership = HoldingMembership.objects.get(smart_account=dist_stock, user=users["holding_member"])

    # A new account for sa_admin, requested by the distributor: its activation link.
    acme_labs = account_services.smart_account_request(name="Acme Labs", domain="acme.com",
                                                       contact_email=sa_admin.email, actor=dist_admin)
    activation = Invitation.objects.get(smart_account=acme_labs, purpose=InvitationPurpose.ACTIVATE_ACCOUNT)

    # The catalogue.
    smart = licensing_services.product_create(sku="MX-SMART", name="Matrix Feature Pack", family="Routing",
                                              license_kind=LicenseKind.SMART, actor=staff)
    subscription = licensing_services.product_create(sku="MX-SUB", name="Matrix Subscription", family="Routing",
                                                     license_kind=LicenseKind.SMART, term_months=12, actor=staff)
    classic = licensing_services.product_create(sku="MX-PAK", name="Matrix Classic", family="Routing",
                                                license_kind=LicenseKind.CLASSIC, smart_equivalent=smart, actor=staff)

    # Order 1, shipped: a held line, a delegated line, licenses for Left child and Right, PAKs.
    lines = [
        {"sku": smart.sku, "quantity": 5, "smart_account": dist_stock.pk},
        {"sku": smart.sku, "quantity": 3, "delegate_to_end_customer": True},
        {"sku": smart.sku, "quantity": 10, "smart_account": acme.pk, "virtual_account": left_child.pk},
        {"sku": subscription.sku, "quantity": 4, "smart_account": acme.pk, "virtual_account": left_child.pk},
        {"sku": smart.sku, "quantity": 10, "smart_account": acme.pk, "virtual_account": right.pk},
        {"sku": classic.sku, "quantity": 1, "smart_account": acme.pk},
        {"sku": classic.sku, "quantity": 1, "smart_account": acme.pk},
    ]
    order = order_services.order_place(actor=users["holding_member"], end_customer_name="Acme",
                                       end_customer_email=sa_admin.email, lines=lines)
    order_services.order_ship(order=order, actor=staff, shipped_on=SHIP_DAY)
    held_line, delegated_line = order.lines.get(number=1), order.lines.get(number=2)
    assert held_line.state == OrderLineState.HELD and delegated_line.state == OrderLineState.AWAITING_ACCOUNT
    delegated = Invitation.objects.get(purpose=InvitationPurpose.ASSIGN_ORDER_LINE,
                                       object_key=account_services.object_key(delegated_line))
    pak, registered = ClassicLicense.objects.filter(smart_account=acme).order_by("pk")
    license_key = licensing_services.classic_license_register(pak=registered, serial_number="FTXKEY0001",
                                                              actor=sa_admin)

    # Order 2, booked: for staff to ship.
    order_to_ship = order_services.order_place(
        actor=users["holding_member"], end_customer_name="Acme", end_customer_email=sa_admin.email,
        lines=[{"sku": smart.sku, "quantity": 2, "smart_account": acme.pk, "virtual_account": left.pk}],
    )

    # Tokens and devices (registered and reporting as devices do).
    left_token, left_token_secret = licensing_services.token_create(
        virtual_account=left_child, description="Left routers", actor=users["va_user"])
    licensing_services.token_create(virtual_account=right, description="Right routers",
                                    actor=users["va_user_sibling"])
    left_device, left_device_secret, _ = licensing_services.device_register(
        token=left_token_secret, serial_number="FTXLEFT001", product_id="ISR4451-X", hostname="left-1.acme.com")
    licensing_services.device_report_usage(device=left_device, usage=[{"sku": smart.sku, "count": 2}])
    right_token, right_secret = licensing_services.token_create(virtual_account=right, description="Right spare",
                                                                actor=sa_admin)
    right_device, _, _ = licensing_services.device_register(token=right_secret, serial_number="FTXRIGHT01",
                                                            product_id="ISR4451-X", hostname="right-1.acme.com")
    # Right uses more than it holds (a shortage), and a day's usage was recorded.
    licensing_services.device_report_usage(device=right_device, usage=[{"sku": smart.sku, "count": 12}])
    licensing_services.usage_snapshot_take(day=SHIP_DAY)
    licensing_services.alert_preferences_update(smart_account=acme, actor=sa_admin, daily_summary=True)

    # Personal things of sa_user: a support case about Acme and a second API key.
    support_case = account_services.support_case_open(actor=users["sa_user"], subject="Where are my licenses?",
                                                      body="Order 1 does not show.", smart_account=acme)
    spare_api_key, _ = account_services.api_key_create(user=users["sa_user"], name="old script")

    world = World(
        users=users, acme=acme, root=root, left=left, left_child=left_child, left_spare=left_spare, right=right,
        acme_labs=acme_labs, activation_token=_signed(activation), distributor=distributor, dist_stock=dist_stock,
        spare=spare, spare_membership=spare_membership, holding_membership=holding_membership,
        partner_invitation=partner_invitation, partner_invitation_token=_signed(partner_invitation),
        smart=smart, subscription=subscription, classic=classic, order=order, order_to_ship=order_to_ship,
        held_line=held_line, delegated_line=delegated_line, delegated_token=_signed(delegated), pak=pak,
        license_key=license_key, left_token=left_token, left_token_secret=left_token_secret, left_device=left_device,
        left_device_secret=left_device_secret, right_device=right_device, access_request=access_request,
        departing_role=departing_role, newcomer=newcomer, support_case=support_case, spare_api_key=spare_api_key,
    )
    assert set(users) == set(CALLERS) - {"anonymous"}, sorted(users)
    world.admin_objects = _admin_objects(departing)
    for caller in CALLERS:
        client = Client()
        if caller != "anonymous":
            client.force_login(users[caller])
            world.api_keys[caller] = account_services.api_key_create(user=users[caller], name="matrix")[1]
        world.clients[caller] = client
    return world


def _admin_objects(someone) -> dict:
    """An instance of every model registered in the admin (made where the world has none), and
    the content type of orders.Order (for the admin's "view on site")."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from django.contrib import admin
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from django_celery_beat import models as beat

    makers = {
        "auth.Group": lambda: Group.objects.create(name="Matrix group"),
        "mfa.Authenticator": lambda: RecoveryCodes.activate(someone).instance,
        "django_celery_beat.IntervalSchedule": lambda: beat.IntervalSchedule.objects.get_or_create(
            every=1, period="days")[0],
        "django_celery_beat.CrontabSchedule": lambda: beat.CrontabSchedule.objects.create(minute="0", hour="3"),
        "django_celery_beat.SolarSchedule": lambda: beat.SolarSchedule.objects.create(
            event="sunrise", latitude="0", longitude="0"),
        "django_celery_beat.ClockedSchedule": lambda: beat.ClockedSchedule.objects.create(
            clocked_time=timezone.now()),
        "django_celery_beat.PeriodicTask": lambda: beat.PeriodicTask.objects.create(
            name="matrix", task="portal.matrix",
            interval=beat.IntervalSchedule.objects.get_or_create(every=1, period="days")[0]),
    }
    objects: dict = {}
    for model in admin.site._registry:
        label = model._meta.label
        instance = model._default_manager.order_by("pk").first()
        if instance is None and label in makers:
            instance = makers[label]()
        assert instance is not None, f"the matrix world has no {label} for the admin's pages"
        objects[label] = instance
    objects["content_type:orders.order"] = ContentType.objects.get(app_label="orders", model="order").pk
    return objects


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once per module inside a transaction that is rolled back at its end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
                built = build_world()
            yield built
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
