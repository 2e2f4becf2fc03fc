"""`python manage.py seed_demo`: a small, believable world for a newcomer to click through —
partners, customer accounts with nested Virtual Accounts, a catalogue, orders in every state and
devices (one product in shortage) — made through the same services the portal uses.

Idempotent: if the demo staff user exists the data is taken as loaded and only the logins are
printed. Everything else happens in one transaction, so a failed run leaves nothing behind.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Partner, PartnerKind, Role, User, VirtualAccount
from accounts.permissions import POWER_GROUP_NAME, POWER_GROUP_PERMISSIONS, Power
from lib.dates import add_months
from licensing import services as licensing
from licensing.models import LicenseKind, Product, UsageSnapshot
from orders import services as orders
from orders.models import Order

DEMO_PASSWORD = "demo-pass-123"
STAFF_EMAIL = "staff@portal.example"


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    role: str  # how the login is introduced in the printed list


STAFF = Person(STAFF_EMAIL, "Sam Staff", "Vendor superuser: every vendor power (Django admin at /admin/)")
# One staff member per vendor power (accounts.permissions_vendor), each in that power's group only.
POWER_STAFF = {
    Power.CATALOGUE: Person("catalogue@portal.example", "Cleo Catalogue", "Vendor staff: catalogue (products)"),
    Power.PARTNERS: Person("partners@portal.example", "Pat Partners", "Vendor staff: partners (create, manage members)"),
    Power.FULFILMENT: Person("fulfilment@portal.example", "Finn Fulfilment", "Vendor staff: fulfilment (ship orders)"),
    Power.SUPPORT: Person("support@portal.example", "Sue Support", "Vendor staff: support (answer every case)"),
    Power.ACCOUNTS: Person("accounts@portal.example", "Abe Accounts",
                           "Vendor staff: accounts (activate, suspend, reinstate Smart Accounts)"),
    Power.USERS: Person("users@portal.example", "Uma Users", "Vendor staff: users (register users)"),
}
NORA = Person("nora@northwind-distribution.example", "Nora Nakamura", "Distributor admin, Northwind Distribution")
NED = Person("ned@northwind-distribution.example", "Ned Novak", "Distributor user, Northwind (SA user on Globex)")
ANNA = Person("anna@contoso-networks.example", "Anna Alvarez",
              "Reseller admin, Contoso Networks (holding account; SA user on Acme)")
CARL = Person("carl@contoso-networks.example", "Carl Chen", "Reseller user, Contoso Networks (holding account member)")
FRANK = Person("frank@fabrikam-it.example", "Frank Fischer", "Reseller admin, Fabrikam IT (SA viewer on Initech)")
FIONA = Person("fiona@fabrikam-it.example", "Fiona Flores", "Reseller user, Fabrikam IT (VA admin on Acme's EMEA)")
ALICE = Person("alice@acme.example", "Alice Adams", "Customer SA admin, Acme Corp")
BOB = Person("bob@acme.example", "Bob Baker", "Customer VA viewer, Acme Corp (US > Finance only)")
GINA = Person("gina@globex.example", "Gina Gold", "Customer SA admin, Globex")
IAN = Person("ian@initech.example", "Ian Irving", "Customer SA admin, Initech")
PEOPLE = (STAFF, *POWER_STAFF.values(), NORA, NED, ANNA, CARL, FRANK, FIONA, ALICE, BOB, GINA, IAN)

SMART, CLASSIC = LicenseKind.SMART, LicenseKind.CLASSIC
# sku, name, family, kind, term in months (None = perpetual), Smart Account required
PRODUCTS = (
    ("C9300-DNA-A-48-3Y", "Catalyst 9300 DNA Advantage, 48-port, 3 years", "Switching", SMART, 36, True),
    ("C9300-NW-A-48", "Catalyst 9300 Network Advantage, 48-port", "Switching", SMART, None, True),
    ("C9300-DNA-E-24-3Y", "Catalyst 9300 DNA Essentials, 24-port, 3 years", "Switching", SMART, 36, True),
    ("C9200-DNA-E-24-5Y", "Catalyst 9200 DNA Essentials, 24-port, 5 years", "Switching", SMART, 60, True),
    ("C9200-NW-E-24", "Catalyst 9200 Network Essentials, 24-port", "Switching", SMART, None, False),
    ("AIR-DNA-A-3Y", "DNA Advantage for wireless access points, 3 years", "Wireless", SMART, 36, True),
    ("LIC-C9800-AP-E", "Catalyst 9800 controller access point license", "Wireless", SMART, None, False),
    ("SL-4330-SEC-K9", "ISR 4330 Security (smart license)", "Routing", SMART, None, False),
    ("DNA-E-T1-3Y", "DNA Routing Essentials, tier 1, 3 years", "Routing", SMART, 36, True),
    ("FPR1010-TMC-1Y", "Firepower 1010 Threat, Malware and URL, 1 year", "Security", SMART, 12, True),
    ("FPR2110-TC-3Y", "Firepower 2110 Threat Defense and URL, 3 years", "Security", SMART, 36, True),
    ("L-AC-PLS-1Y", "AnyConnect Plus, per user, 1 year", "Security", SMART, 12, False),
    ("L-AC-APX-5Y", "AnyConnect Apex, per user, 5 years", "Security", SMART, 60, False),
    ("UMB-DNS-ESS-1Y", "Umbrella DNS Essentials, per user, 1 year", "Security", SMART, 12, True),
    ("WX-MTG-NU-1Y", "Webex Meetings, named user, 1 year", "Collaboration", SMART, 12, False),
    ("WXC-PROF-3Y", "Webex Calling Professional, per user, 3 years", "Collaboration", SMART, 36, False),
    ("CUCM-ENH-UCL", "Unified CM Enhanced User License", "Collaboration", SMART, None, False),
    ("FL-4330-HSEC-K9", "ISR 4330 HSEC (high-speed encryption) license, PAK", "Routing", CLASSIC, None, False),
    ("FL-CUBEE-25", "CUBE Enterprise, 25 sessions, PAK", "Collaboration", CLASSIC, None, False),
    ("FL-ASR1-IPSEC-RTU", "ASR 1000 IPsec right-to-use, PAK", "Routing", CLASSIC, None, False),
)


class Command(BaseCommand):
    help = "Load demo data (partners, customer accounts, catalogue, orders, devices) and print the demo logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--send-emails", action="store_true",
            help="Deliver the demo's emails through EMAIL_BACKEND. By default they are owed in the outbox as "
                 "usual but handed to a dummy backend, so that the console is not flooded.",
        )

    def handle(self, *args, send_emails: bool = False, **options) -> None:
        if User.objects.filter(email__iexact=STAFF_EMAIL).exists():
            self.stdout.write("Demo data is already loaded; nothing to do.")
        else:
            started = timezone.now()
            backend = settings.EMAIL_BACKEND if send_emails else "django.core.mail.backends.dummy.EmailBackend"
            # The outbox sends on commit, so the commit happens inside the override.
            with override_settings(EMAIL_BACKEND=backend), transaction.atomic():
                Demo(today=timezone.localdate()).build()
            seconds = (timezone.now() - started).total_seconds()
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded in {seconds:.1f} s."))
        self.print_logins()

    def print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo logins (every password is {DEMO_PASSWORD}):")
        for person in PEOPLE:
            self.stdout.write(f"  {person.role} — {person.email} / {DEMO_PASSWORD}")
        self.stdout.write("")
        self.stdout.write(f"Open {settings.SITE_URL}/ and sign in with one of them.")


class Demo:
    """Builds the demo world step by step; each step calls the services as the real actor would."""

    def __init__(self, *, today: datetime.date) -> None:
        self.today = today
        self.users: dict[str, User] = {}

    def days_ago(self, days: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days)

    def build(self) -> None:
        self.people()
        self.partners()
        self.customer_accounts()
        self.catalogue()
        self.orders()
        self.organise()
        self.devices()

    # --- people and partners ----------------------------------------------------------------

    def people(self) -> None:
        for person in PEOPLE:
            self.users[person.email] = accounts.user_create(
                email=person.email, password=DEMO_PASSWORD, name=person.name,
                is_staff=person is STAFF or person in POWER_STAFF.values(),
            )
        self.staff = self.users[STAFF.email]
        # Superuser as well, so that every admin page works for the demo's back office.
        self.staff.is_superuser = True
        self.staff.save(update_fields=["is_superuser"])
        self.power_groups()

    def power_groups(self) -> None:
        """A group per vendor power, with its permissions, and its demo staff member in it."""
        for power, person in POWER_STAFF.items():
            group, _ = Group.objects.get_or_create(name=POWER_GROUP_NAME[power])
            for label in POWER_GROUP_PERMISSIONS[power]:
                app_label, codename = label.split(".")
                group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
            self.user(person).groups.add(group)

    def user(self, person: Person) -> User:
        return self.users[person.email]

    def partners(self) -> None:
        staff = self.staff
        self.northwind = accounts.partner_create(name="Northwind Distribution", kind=PartnerKind.DISTRIBUTOR, actor=staff)
        self.contoso = accounts.partner_create(
            name="Contoso Networks", kind=PartnerKind.RESELLER, distributor=self.northwind, actor=staff
        )
        self.fabrikam = accounts.partner_create(
            name="Fabrikam IT", kind=PartnerKind.RESELLER, distributor=self.northwind, actor=staff
        )
        for partner, admin, member in (
            (self.northwind, NORA, NED), (self.contoso, ANNA, CARL), (self.fabrikam, FRANK, FIONA),
        ):
            accounts.partner_member_add(partner=partner, email=admin.email, is_admin=True, actor=staff)
            # The partner admin invites their colleague, who accepts, as they would in the portal.
            invitation = accounts.partner_member_invite(partner=partner, email=member.email, actor=self.user(admin))
            accounts.partner_invitation_accept(token=accounts.invitation_token(invitation), actor=self.user(member))

        # Every partner should have a holding account (flow 4); Contoso's is where orders wait.
        anna = self.user(ANNA)
        self.contoso_holding = accounts.holding_account_create(name="Contoso Holding", actor=anna)
        accounts.holding_member_add(smart_account=self.contoso_holding, email=CARL.email, notify=True, actor=anna)
        accounts.holding_account_create(name="Northwind Holding", actor=self.user(NORA))
        accounts.holding_account_create(name="Fabrikam Holding", actor=self.user(FRANK))

    # --- customer accounts ------------------------------------------------------------------

    def customer_accounts(self) -> None:
        alice, anna = self.user(ALICE), self.user(ANNA)
        # Acme: requested by Contoso on Acme's behalf (flow 3); Alice activates it and lets Anna
        # manage it as SA user in the same step.
        acme = accounts.smart_account_request(name="Acme Corp", domain="acme.example", contact_email=alice.email, actor=anna)
        self.acme = accounts.smart_account_activate(smart_account=acme, actor=alice, grant_partner_role=Role.SA_USER)
        root = self.acme.default_virtual_account
        us = self.va(root, "US", "United States operations", actor=alice)
        finance = self.va(us, "Finance", actor=alice)
        self.sacramento = self.va(finance, "Sacramento", "Finance back office, Sacramento CA", actor=alice)
        self.engineering = self.va(us, "Engineering", actor=alice)
        self.emea = self.va(root, "EMEA", "Europe, Middle East and Africa", actor=alice)
        self.berlin = self.va(self.emea, "Berlin", "Berlin office and data centre", actor=alice)
        self.acme_root = root
        accounts.role_grant(smart_account=self.acme, email=FIONA.email, role=Role.VA_ADMIN,
                            virtual_account=self.emea, actor=alice)
        accounts.role_grant(smart_account=self.acme, email=BOB.email, role=Role.VA_VIEWER,
                            virtual_account=finance, actor=alice)

        # Globex and Initech: created by their own admins (flow 2), who then invite partners in.
        gina, ian = self.user(GINA), self.user(IAN)
        self.globex = accounts.smart_account_create(name="Globex", domain="globex.example", actor=gina)
        self.globex_operations = self.va(self.globex.default_virtual_account, "Operations", actor=gina)
        self.va(self.globex.default_virtual_account, "Research", actor=gina)
        accounts.role_grant(smart_account=self.globex, email=NED.email, role=Role.SA_USER, actor=gina)

        self.initech = accounts.smart_account_create(name="Initech", domain="initech.example", actor=ian)
        self.va(self.initech.default_virtual_account, "Headquarters", actor=ian)
        accounts.role_grant(smart_account=self.initech, email=FRANK.email, role=Role.SA_VIEWER, actor=ian)

    def va(self, parent: VirtualAccount, name: str, description: str = "", *, actor: User) -> VirtualAccount:
        return accounts.virtual_account_create(parent=parent, name=name, description=description, actor=actor)

    # --- catalogue --------------------------------------------------------------------------

    def catalogue(self) -> None:
        self.products: dict[str, Product] = {}
        for sku, name, family, kind, term, sa_required in PRODUCTS:
            self.products[sku] = licensing.product_create(
                sku=sku, name=name, family=family, license_kind=kind, term_months=term, sa_required=sa_required,
                actor=self.staff,
            )

    # --- orders -----------------------------------------------------------------------------

    def place(self, person: Person, customer: str, email: str, lines: list[tuple], *, placed_days_ago: int,
              reseller: Partner | None = None) -> Order:
        """lines: (sku, quantity, smart account, virtual account or None)."""
        order = orders.order_place(
            actor=self.user(person), end_customer_name=customer, end_customer_email=email, reseller=reseller,
            lines=[{"sku": sku, "quantity": quantity, "smart_account": sa, "virtual_account": va}
                   for sku, quantity, sa, va in lines],
        )
        # The services stamp "now"; give the demo a believable history in the order lists.
        placed_at = timezone.now() - datetime.timedelta(days=placed_days_ago)
        Order.objects.filter(pk=order.pk).update(placed_at=placed_at)
        return order

    def ship(self, order: Order, *, days_ago: int) -> None:
        orders.order_ship(order=order, actor=self.staff, shipped_on=self.days_ago(days_ago))

    def orders(self) -> None:
        acme, globex, initech, holding = self.acme, self.globex, self.initech, self.contoso_holding

        # Acme's network refresh, bought through Contoso: provisioned across the US tree.
        order = self.place(ANNA, "Acme Corp", ALICE.email, [
            ("C9300-DNA-A-48-3Y", 20, acme, self.engineering),
            ("C9300-NW-A-48", 20, acme, self.engineering),
            ("C9200-DNA-E-24-5Y", 30, acme, self.sacramento),
            ("WX-MTG-NU-1Y", 150, acme, None),  # lands in DEFAULT
        ], placed_days_ago=80)
        self.ship(order, days_ago=75)

        # Acme's Berlin office, bought through Fabrikam: AnyConnect ends up short (see devices).
        order = self.place(FRANK, "Acme Corp", ALICE.email, [
            ("FPR1010-TMC-1Y", 4, acme, self.berlin),
            ("C9300-DNA-E-24-3Y", 12, acme, self.berlin),
            ("L-AC-PLS-1Y", 250, acme, self.berlin),
        ], placed_days_ago=45)
        self.ship(order, days_ago=40)

        # Classic (PAK) licenses for Acme's branch routers: PAKs in Acme's License Registration.
        order = self.place(CARL, "Acme Corp", ALICE.email, [
            ("FL-4330-HSEC-K9", 2, acme, None),
            ("FL-CUBEE-25", 1, acme, None),
        ], placed_days_ago=32)
        self.ship(order, days_ago=30)

        # Globex, 2-tier: Northwind orders through its reseller Contoso.
        order = self.place(NORA, "Globex", GINA.email, [
            ("WXC-PROF-3Y", 120, globex, None),
            ("CUCM-ENH-UCL", 200, globex, None),
            ("DNA-E-T1-3Y", 8, globex, self.globex_operations),
        ], placed_days_ago=25, reseller=self.contoso)
        self.ship(order, days_ago=20)

        # A Globex subscription shipped almost a year ago: it ends within 30 days.
        order = self.place(ANNA, "Globex", GINA.email, [("UMB-DNS-ESS-1Y", 500, globex, None)], placed_days_ago=350)
        shipped_on = add_months(self.today, -12) + datetime.timedelta(days=21)
        orders.order_line_ship(line=order.lines.get(), actor=self.staff, shipped_on=shipped_on)

        # Parked in Contoso Holding: the end customers' accounts are not known yet (held lines).
        order = self.place(ANNA, "Wingtip Toys", "it@wingtiptoys.example", [
            ("C9200-DNA-E-24-5Y", 24, holding, None),
            ("AIR-DNA-A-3Y", 10, holding, None),
        ], placed_days_ago=12)
        self.ship(order, days_ago=10)
        order = self.place(NORA, "Tailspin Toys", "netops@tailspintoys.example", [
            ("FPR2110-TC-3Y", 2, holding, None),
        ], placed_days_ago=6, reseller=self.contoso)
        self.ship(order, days_ago=5)

        # Booked, not shipped yet: staff can ship it from the admin.
        self.place(FRANK, "Initech", IAN.email, [
            ("C9300-DNA-E-24-3Y", 6, initech, None),
            ("L-AC-APX-5Y", 50, initech, None),
        ], placed_days_ago=2)

    # --- organising and sharing ----------------------------------------------------------------

    def organise(self) -> None:
        # Alice hands some Webex seats to EMEA (a transfer keeps the subscription's dates).
        licensing.license_transfer(
            from_virtual_account=self.acme_root, to_virtual_account=self.emea,
            lines=[{"sku": "WX-MTG-NU-1Y", "quantity": 30}], actor=self.user(ALICE),
        )
        # Frank asks Globex for access: Gina finds it waiting for her decision (flow 1).
        accounts.access_request_create(
            smart_account=self.globex, actor=self.user(FRANK),
            message="Fabrikam IT would like to help you manage your Webex Calling licenses.",
        )

    # --- devices and usage ------------------------------------------------------------------

    def devices(self) -> None:
        # Acme's switches, controllers and firewalls reporting what they consume. In Berlin the
        # VPN headends report more AnyConnect users (280) than were bought (250): a shortage.
        fleet = [
            (self.engineering, "C9300-48P", "sw-eng", 8, {"C9300-DNA-A-48-3Y": 2, "C9300-NW-A-48": 2}),
            (self.sacramento, "C9200-24P", "sw-sac", 6, {"C9200-DNA-E-24-5Y": 1}),
            (self.berlin, "C9300-24T", "sw-ber", 4, {"C9300-DNA-E-24-3Y": 1}),
            (self.berlin, "FPR-1010", "fw-ber", 2, {"FPR1010-TMC-1Y": 1, "L-AC-PLS-1Y": 140}),
        ]
        serial = 2519
        tokens = {}
        for va, product_id, prefix, count, usage in fleet:
            if va.pk not in tokens:
                _, tokens[va.pk] = licensing.token_create(
                    virtual_account=va, description=f"Demo devices in {va.name}", actor=self.user(ALICE)
                )
            for n in range(1, count + 1):
                serial += 1
                # As a device would: register with the VA's token, then report absolute usage.
                device, _, _ = licensing.device_register(
                    token=tokens[va.pk], serial_number=f"FOC2{serial:07d}X", product_id=product_id,
                    hostname=f"{prefix}-{n:02d}.acme.example",
                )
                licensing.device_report_usage(device=device, usage=[{"sku": sku, "count": used} for sku, used in usage.items()])
        self.usage_history()

    def usage_history(self) -> None:
        """Today's snapshot through the service, and a made-up month before it (demo only) so
        the dashboard's usage chart has a line to draw: usage ramps up to today's figures."""
        licensing.usage_snapshot_take()
        today = timezone.localdate()
        rows = []
        for snap in UsageSnapshot.objects.filter(day=today):
            for back in range(1, 31):
                rows.append(UsageSnapshot(
                    virtual_account_id=snap.virtual_account_id, product_id=snap.product_id,
                    day=today - datetime.timedelta(days=back), purchased=snap.purchased,
                    in_use=round(snap.in_use * (1 - back / 45)),
                ))
        UsageSnapshot.objects.bulk_create(rows, ignore_conflicts=True)

