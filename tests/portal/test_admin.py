"""The staff back office: every registered model's pages open for staff and for no one else,
changelists run a fixed number of queries, and what staff change goes through the services."""
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import (
    Event,
    Notification,
    NotificationStatus,
    Role,
    SmartAccount,
    SmartAccountRole,
    SmartAccountStatus,
    SupportCaseStatus,
    User,
    VirtualAccount,
)
from licensing.models import RegistrationToken
from orders.models import Order, OrderLine, OrderLineState
from tests import factories as f

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"accounts", "licensing", "orders"}
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def admin_url(model_or_obj, view: str = "changelist") -> str:
    opts = model_or_obj._meta
    if view == "changelist":
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(model_or_obj.pk)])


@pytest.fixture
def staff_user_(db):
    return f.UserFactory(email="admin@vendor.example", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff_user_):
    client.force_login(staff_user_)
    return client


@pytest.fixture
def world(db) -> dict:
    """One row of every model of the project apps, keyed by model."""
    sa = f.SmartAccountFactory(name="Acme Corp", domain="acme.example")
    va = f.VirtualAccountFactory(parent=sa.default_virtual_account, name="Finance")
    holding = f.HoldingAccountFactory()
    member = f.UserFactory(name="Pat Partner")
    f.PartnerMembershipFactory(partner=holding.partner, user=member)
    product = f.ProductFactory(subscription=True)
    device = f.DeviceFactory(virtual_account=va)
    f.DeviceUsageFactory(device=device, product=product, count=3)
    case = f.SupportMessageFactory(case__smart_account=sa).case
    line = f.OrderLineFactory(product=product, smart_account=sa, virtual_account=va, order__partner=holding.partner)
    rows = [
        member, f.ApiKeyFactory(user=member), holding.partner, sa, va,
        f.SmartAccountRoleFactory(content_object=sa),
        f.VirtualAccountRoleFactory(content_object=va, role=Role.VA_USER),
        f.HoldingMembershipFactory(smart_account=holding, user=member),
        f.AccessRequestFactory(smart_account=sa), case,
        f.EventFactory(smart_account=sa, virtual_account=va, actor=member),
        f.NotificationFactory(), f.InvitationFactory(),
        product, f.EntitlementFactory(virtual_account=va, product=product), device,
        f.RegistrationTokenFactory(virtual_account=va), f.ClassicLicenseFactory(smart_account=sa),
        f.UsageSnapshotFactory(virtual_account=va, product=product),
        f.ShortageFactory(virtual_account=va, product=product), f.AlertPreferencesFactory(smart_account=sa),
        line.order, line,
    ]
    return {type(row): row for row in rows}


# --- who gets in ---------------------------------------------------------------------------


def test_back_office_has_its_own_header(staff_client):
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Smart Licensing — staff back office" in response.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label_lower)
def test_staff_can_open_the_changelist_and_change_page_of_every_model(staff_client, world, model):
    changelist = staff_client.get(admin_url(model))
    assert changelist.status_code == 200

    obj = world.get(model) or model._default_manager.first()
    if model._meta.app_label in PROJECT_APPS:
        assert model in world, f"the test world has no {model._meta.label}"
    if obj is None:
        return  # a third-party model with no rows (e.g. auth groups)
    # Listed, with a link to its page; the page names it.
    assert admin_url(obj, "change") in changelist.content.decode()
    page = staff_client.get(admin_url(obj, "change"))
    assert page.status_code == 200
    assert escape(str(obj)) in page.content.decode()


def test_non_staff_user_is_sent_to_the_admin_login(client):
    client.force_login(f.UserFactory())
    for url in (reverse("admin:index"), admin_url(SmartAccount), admin_url(Event)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


# --- query counts ------------------------------------------------------------------------------

def _event():
    va = f.VirtualAccountFactory()
    return f.EventFactory(smart_account=va.smart_account, virtual_account=va, actor=f.UserFactory())


def _order_line():
    va = f.VirtualAccountFactory()
    return f.OrderLineFactory(smart_account=va.smart_account, virtual_account=va)


ROW_MAKERS = {
    "accounts.event": _event,
    "orders.orderline": _order_line,
    "accounts.virtualaccount": f.SmartAccountFactory,  # one account, one root Virtual Account
    "accounts.smartaccount": lambda: f.SmartAccountFactory(contact=f.UserFactory()),
    "accounts.user": lambda: f.PartnerMembershipFactory().user,
    "accounts.smartaccountrole": lambda: f.SmartAccountRoleFactory(granted_by=f.UserFactory()),
    "accounts.virtualaccountrole": f.VirtualAccountRoleFactory,
    "accounts.supportcase": lambda: f.SupportCaseFactory(smart_account=f.SmartAccountFactory()),
    "orders.order": lambda: _order_line().order,
    "licensing.entitlement": f.EntitlementFactory,
    "licensing.device": f.DeviceFactory,
    "licensing.registrationtoken": lambda: f.RegistrationTokenFactory(created_by=f.UserFactory()),
    "licensing.classiclicense": f.ClassicLicenseFactory,
    "licensing.usagesnapshot": f.UsageSnapshotFactory,
}


def _changelist_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("label", ROW_MAKERS)
def test_changelist_queries_do_not_grow_with_rows(staff_client, label):
    make = ROW_MAKERS[label]
    url = reverse(f"admin:{label.replace('.', '_')}_changelist")
    for _ in range(2):
        make()
    _changelist_queries(staff_client, url)  # warm the per-process caches (content types, site)
    with_two = _changelist_queries(staff_client, url)
    for _ in range(18):
        make()
    assert _changelist_queries(staff_client, url) == with_two


# --- actions and edits go through the services ----------------------------------------------------

class _FormFields(HTMLParser):
    """The fields a browser would submit from an admin change form, as they are on the page."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") != "submit":
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.data[name] = attrs.get("value") or ("on" if attrs.get("type") == "checkbox" else "")
        elif tag == "textarea" and name:
            self._textarea, self.data[name] = name, ""
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value") or ""

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def change_form_data(client, url: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(client.get(url).content.decode())
    parser.data.pop("_saveasnew", None)
    return parser.data


def _run_action(client, model, action: str, objects) -> list[str]:
    response = client.post(
        admin_url(model), {"action": action, "_selected_action": [quote(o.pk) for o in objects]}, follow=True
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_activate_action_activates_new_accounts_and_reports_the_others(staff_client):
    new = f.SmartAccountFactory(new=True, contact=f.UserFactory())
    active = f.SmartAccountFactory(name="Already Active")

    notes = _run_action(staff_client, SmartAccount, "activate_selected", [new, active])

    new.refresh_from_db()
    assert new.status == SmartAccountStatus.ACTIVE
    contact_role = SmartAccountRole.objects.get(content_object=new, user=new.contact)
    assert contact_role.permission.codename == Role.SA_ADMIN
    assert "1 smart account activated." in notes
    assert any(n.startswith("1 smart account not activated: Already Active") for n in notes)


def test_suspend_and_reinstate_actions_record_events(staff_client, staff_user_):
    sa = f.SmartAccountFactory()

    _run_action(staff_client, SmartAccount, "suspend_selected", [sa])
    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.SUSPENDED
    _run_action(staff_client, SmartAccount, "reinstate_selected", [sa])
    sa.refresh_from_db()
    assert sa.status == SmartAccountStatus.ACTIVE
    assert list(Event.objects.filter(smart_account=sa, actor=staff_user_).values_list("action", flat=True)) == [
        "smart_account.reinstated", "smart_account.suspended",
    ]


def test_deleting_roles_revokes_them_but_keeps_the_last_sa_admin(staff_client):
    admin_role = f.SmartAccountRoleFactory()
    user_role = f.SmartAccountRoleFactory(content_object=admin_role.content_object, role=Role.SA_USER)

    response = staff_client.post(
        admin_url(SmartAccountRole),
        {"action": "delete_selected", "post": "yes", "_selected_action": [str(admin_role.pk), str(user_role.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert list(SmartAccountRole.objects.all()) == [admin_role]
    assert Event.objects.filter(action="role.revoked", smart_account=admin_role.content_object).count() == 1
    notes = [str(m) for m in response.context["messages"]]
    assert any("at least one Smart Account admin" in n for n in notes)


def test_deleting_one_role_from_its_page_revokes_it(staff_client):
    role = f.SmartAccountRoleFactory(role=Role.SA_VIEWER)

    response = staff_client.post(admin_url(role, "delete"), {"post": "yes"})

    assert response.status_code == 302
    assert not SmartAccountRole.objects.filter(pk=role.pk).exists()
    assert Event.objects.filter(action="role.revoked").exists()


def test_renaming_a_virtual_account_goes_through_the_service(staff_client, staff_user_):
    va = f.VirtualAccountFactory(name="Finance")
    url = admin_url(va, "change")
    data = change_form_data(staff_client, url) | {"name": "Treasury", "description": "Money matters"}

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    va.refresh_from_db()
    assert (va.name, va.description) == ("Treasury", "Money matters")
    event = Event.objects.get(action="virtual_account.renamed")
    assert (event.actor, event.detail) == (staff_user_, {"from": "Finance", "to": "Treasury"})


def test_virtual_accounts_are_not_added_or_deleted_in_the_back_office(staff_client):
    va = f.VirtualAccountFactory()
    assert staff_client.get(reverse("admin:accounts_virtualaccount_add")).status_code == 403
    assert staff_client.get(admin_url(va, "delete")).status_code == 403


def test_staff_reply_is_saved_by_the_service_and_emailed_to_the_user(
    staff_client, staff_user_, django_capture_on_commit_callbacks
):
    case = f.SupportMessageFactory(case__user__email="customer@acme.example").case
    url = admin_url(case, "change")
    data = change_form_data(staff_client, url)
    reply_field = next(name for name in data if name.endswith("-0-body"))
    data[reply_field] = "We found your licenses; they are in DEFAULT now."

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    reply = case.messages.get(from_staff=True)
    assert (reply.author, reply.body) == (staff_user_, "We found your licenses; they are in DEFAULT now.")
    case.refresh_from_db()
    assert case.status == SupportCaseStatus.WAITING_ON_CUSTOMER
    assert [m.to for m in mail.outbox] == [["customer@acme.example"]]


def test_staff_can_resolve_a_case_with_a_last_reply(staff_client):
    case = f.SupportMessageFactory().case
    url = admin_url(case, "change")
    data = change_form_data(staff_client, url) | {"status": SupportCaseStatus.RESOLVED}
    data[next(name for name in data if name.endswith("-0-body"))] = "Closing this, all done."

    assert staff_client.post(url, data).status_code == 302

    case.refresh_from_db()
    assert case.status == SupportCaseStatus.RESOLVED
    assert case.messages.filter(from_staff=True).count() == 1


def test_resend_action_sends_failed_and_pending_notifications_once(staff_client):
    failed = f.NotificationFactory(status=NotificationStatus.FAILED, attempts=10)
    sent = f.NotificationFactory(status=NotificationStatus.SENT)

    notes = _run_action(staff_client, Notification, "resend_selected", [failed, sent])

    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT
    assert [m.to for m in mail.outbox] == [[failed.recipient]]
    assert "1 notification queued for sending." in notes
    assert "1 already sent, skipped." in notes


def test_audit_rows_cannot_be_added_changed_or_deleted(staff_client, world):
    event = world[Event]
    assert staff_client.get(reverse("admin:accounts_event_add")).status_code == 403
    assert staff_client.get(admin_url(event, "delete")).status_code == 403
    page = staff_client.get(admin_url(event, "change")).content.decode()
    assert 'name="_save"' not in page


def test_staff_add_a_user_by_email_and_password(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {"email": "New.Person@Example.com", "password1": "a-long enough pass", "password2": "a-long enough pass"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="new.person@example.com")
    assert user.check_password("a-long enough pass")


def test_virtual_account_changelist_is_an_indented_tree(staff_client):
    child = f.VirtualAccountFactory(name="Sacramento")
    content = staff_client.get(admin_url(VirtualAccount)).content.decode()
    root_at = content.index(escape(child.parent.name))
    assert root_at < content.index("Sacramento")
    assert '<span class="tree-level-1">Sacramento</span>' in content
    assert ' style="' not in content  # indented by class: the CSP refuses style attributes


def test_ship_order_action_ships_unshipped_lines_and_reports_orders_with_none(staff_client):
    va = f.VirtualAccountFactory()
    line = f.OrderLineFactory(smart_account=va.smart_account, virtual_account=va)
    shipped = f.OrderLineFactory(
        state=OrderLineState.PROVISIONED, smart_account=va.smart_account, order__number="SO-SHIPPED"
    )

    notes = _run_action(staff_client, Order, "ship_selected", [line.order, shipped.order])

    line.refresh_from_db()
    assert line.state == OrderLineState.PROVISIONED
    assert line.entitlements.get().virtual_account == va
    assert "1 order shipped." in notes
    assert any(n.startswith("1 order not shipped: SO-SHIPPED") for n in notes)


def test_ship_lines_action_ships_each_selected_line(staff_client):
    holding = f.HoldingAccountFactory()
    held = f.OrderLineFactory(smart_account=holding)
    delegated = f.OrderLineFactory(delegated=True)

    notes = _run_action(staff_client, OrderLine, "ship_selected", [held, delegated])

    held.refresh_from_db()
    delegated.refresh_from_db()
    assert (held.state, held.held_in) == (OrderLineState.HELD, holding)
    assert delegated.state == OrderLineState.AWAITING_ACCOUNT
    assert "2 order lines shipped." in notes


def test_revoke_tokens_action_revokes_each_token_and_reports_those_revoked_already(staff_client, staff_user_):
    usable = f.RegistrationTokenFactory(description="usable")
    spent = f.RegistrationTokenFactory(description="spent", revoked_at=timezone.now())

    notes = _run_action(staff_client, RegistrationToken, "revoke_selected", [usable, spent])

    usable.refresh_from_db()
    assert usable.revoked_at is not None
    assert Event.objects.get(action="token.revoked").actor == staff_user_
    assert "1 registration token revoked." in notes
    assert any(n.startswith(f"1 registration token not revoked: {spent}:") for n in notes)
