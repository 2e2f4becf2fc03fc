"""Flows of DESIGN.md §4 that were page-only, now reachable through the API too (§5): an account's
default Virtual Account, leaving a holding account, one's own access requests, the lines waiting
for a delegated end-customer contact, an order's history; and the HTML versions of the emails
that were text only."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import AccessRequestStatus, Event, HoldingMembership, Role, SmartAccount
from orders import services as order_services
from orders.models import OrderLineState

from tests.factories import (
    AccessRequestFactory,
    PartnerMembershipFactory,
    ProductFactory,
    SmartAccountFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
)
from tests.worlds.api_acme import acme, call_as  # noqa: F401
from tests.worlds.api_orders import *  # noqa: F401,F403

pytestmark = pytest.mark.django_db


# --- 1. an account's default Virtual Account ------------------------------------------------------


def sa_url(sa) -> str:
    return f"/api/v1/smart-accounts/{sa.pk}/"


def test_an_sa_admin_sets_the_default_virtual_account_and_later_lines_land_there(acme, call_as, partner_admin):
    response = call_as("sa_admin").patch(sa_url(acme.sa), {"default_virtual_account": acme.us.pk}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["default_virtual_account"] == acme.us.pk
    assert SmartAccount.objects.get(pk=acme.sa.pk).default_virtual_account_id == acme.us.pk
    event = Event.objects.get(action="smart_account.default_virtual_account_set")
    assert (event.smart_account_id, event.virtual_account_id) == (acme.sa.pk, acme.us.pk)

    # A line that names no Virtual Account is provisioned into the new default.
    order = order_services.order_place(
        actor=partner_admin, end_customer_name="Acme", end_customer_email="it@acme.com",
        lines=[{"product": ProductFactory(sku="GAP-SMART-1"), "quantity": 2, "smart_account": acme.sa}],
    )
    order_services.order_ship(order=order, actor=acme.users["staff"])
    line = order.lines.get()
    assert (line.state, line.virtual_account_id) == (OrderLineState.PROVISIONED, acme.us.pk)


def test_a_virtual_account_of_another_account_is_a_field_error(acme, call_as):
    elsewhere = SmartAccountFactory(name="Elsewhere", domain="elsewhere.example").default_virtual_account

    response = call_as("sa_admin").patch(sa_url(acme.sa), {"default_virtual_account": elsewhere.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["default_virtual_account"]
    assert SmartAccount.objects.get(pk=acme.sa.pk).default_virtual_account_id == acme.root.pk


@pytest.mark.parametrize("name, code", [("sa_user", 403), ("va_admin", 403), ("no_role", 404), ("anonymous", 401)])
def test_only_an_sa_admin_sets_the_default_virtual_account(acme, call_as, name, code):
    response = call_as(name).patch(sa_url(acme.sa), {"default_virtual_account": acme.us.pk}, format="json")

    assert response.status_code == code
    assert SmartAccount.objects.get(pk=acme.sa.pk).default_virtual_account_id == acme.root.pk


# --- 2. leaving a holding account -----------------------------------------------------------------


def member_url(acme, membership) -> str:
    return f"/api/v1/smart-accounts/{acme.holding.pk}/holding-members/{membership.pk}/"


def test_a_member_leaves_a_holding_account(acme, call_as):
    membership = HoldingMembership.objects.get(smart_account=acme.holding, user=acme.users["holding_member"])

    response = call_as("holding_member").delete(member_url(acme, membership))

    assert response.status_code == 204
    assert not HoldingMembership.objects.filter(pk=membership.pk).exists()
    assert Event.objects.filter(action="holding_account.member_removed", smart_account=acme.holding).exists()


def test_a_partner_admin_takes_a_member_out_and_a_colleague_may_not(acme, api_as, partner_admin, partner_member):
    membership = HoldingMembership.objects.get(smart_account=acme.holding, user=acme.users["holding_member"])

    assert api_as(partner_member).delete(member_url(acme, membership)).status_code == 403
    assert HoldingMembership.objects.filter(pk=membership.pk).exists()
    assert api_as(partner_admin).delete(member_url(acme, membership)).status_code == 204
    assert not HoldingMembership.objects.filter(pk=membership.pk).exists()


def test_another_partners_user_does_not_find_the_membership(acme, api_as, other_partner):
    stranger = PartnerMembershipFactory(partner=other_partner, is_admin=True).user
    membership = HoldingMembership.objects.get(smart_account=acme.holding, user=acme.users["holding_member"])

    assert api_as(stranger).delete(member_url(acme, membership)).status_code == 404
    assert api_as(acme.users["sa_admin"]).delete(member_url(acme, membership)).status_code == 404
    assert HoldingMembership.objects.filter(pk=membership.pk).exists()


# --- 3. one's own access requests -----------------------------------------------------------------


MY_REQUESTS = "/api/v1/access-requests/"


def test_the_requester_sees_only_their_own_requests_newest_first(acme, api_as):
    me, someone = UserFactory(email="me@example.com"), UserFactory(email="someone@example.com")
    older = AccessRequestFactory(smart_account=acme.sa, requester=me, status=AccessRequestStatus.DENIED)
    newer = AccessRequestFactory(smart_account=SmartAccountFactory(name="Beta"), requester=me)
    AccessRequestFactory(smart_account=acme.sa, requester=someone)

    response = api_as(me).get(MY_REQUESTS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(r["id"], r["status"]) for r in body["results"]] == [(newer.pk, "pending"), (older.pk, "denied")]


def test_listing_ones_requests_takes_the_same_queries_for_one_or_many(acme, api_as):
    me = UserFactory(email="me@example.com")
    AccessRequestFactory(smart_account=acme.sa, requester=me)
    client = api_as(me)
    client.get(MY_REQUESTS)  # warm up (session, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(MY_REQUESTS).status_code == 200
    for index in range(5):
        request = AccessRequestFactory(smart_account=SmartAccountFactory(name=f"More {index}"), requester=me)
        request.requested_virtual_accounts.add(request.smart_account.default_virtual_account)
    with CaptureQueriesContext(connection) as many:
        assert client.get(MY_REQUESTS).json()["count"] == 6
    assert len(many) == len(one)


# --- 4. the lines waiting for a delegated end-customer contact -------------------------------------


DELEGATED = "/api/v1/order-lines/delegated/"


def test_the_delegated_contact_sees_their_waiting_lines_and_not_others(world, api, placed, smart_product):
    mine = placed([{"product": smart_product, "quantity": 5}], end_customer_email="gina@globex.example",
                  ship=True).lines.get()
    placed([{"product": smart_product, "quantity": 1}], end_customer_email="ivan@initech.example")
    placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}],
           end_customer_email="gina@globex.example")  # not delegated: nothing to choose

    response = api(world.gina).get(DELEGATED)

    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": mine.pk, "order": mine.order_id, "order_number": mine.order.number, "partner_name": "Resale Co",
        "number": 1, "sku": "ISR-SEC-K9", "product_name": "ISR Security", "quantity": 5,
        "state": "awaiting_account", "shipped_on": mine.shipped_on.isoformat(), "starts_on": None, "ends_on": None,
    }]
    assert api(world.rita).get(DELEGATED).json()["results"] == []
    # The ids listed are what the move takes.
    moved = api(world.gina).post(MOVE, {"lines": [mine.pk], "smart_account": world.globex.pk}, format="json")
    assert moved.status_code == 200
    assert api(world.gina).get(DELEGATED).json()["results"] == []


# --- 5. an order's history ------------------------------------------------------------------------


def test_the_order_detail_contains_its_events(world, api, placed, smart_product):
    order = placed([{"product": smart_product, "quantity": 2, "smart_account": world.globex}], ship=True)

    body = api(world.rita).get(f"{ORDERS}{order.pk}/").json()

    actions = [(e["action"], e["line"]) for e in body["events"]]
    assert actions[0] == ("order.placed", None)
    assert ("order_line.shipped", 1) in actions and ("order_line.provisioned", 1) in actions
    placed_event = body["events"][0]
    assert placed_event["actor"] == "rita@resale.example"
    assert placed_event["detail"]["order"] == order.number
    assert set(placed_event) >= {"action", "created_at", "actor", "detail"}
    # The list stays as it was: no history there.
    assert "events" not in api(world.rita).get(ORDERS).json()["results"][0]


def test_the_order_detail_takes_the_same_queries_however_long_its_history(world, api, placed, smart_product):
    short = placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    long = placed([{"product": smart_product, "quantity": 1, "smart_account": world.globex}] * 4, ship=True)
    client = api(world.rita)
    client.get(f"{ORDERS}{short.pk}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"{ORDERS}{short.pk}/")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{ORDERS}{long.pk}/").json()["events"]) > 4
    assert len(many) == len(few)


# --- 6. HTML versions of the text-only emails -----------------------------------------------------


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_the_access_request_emails_have_an_html_version(
    acme, api_as, mailoutbox, django_capture_on_commit_callbacks,
):
    applicant = UserFactory(email="applicant@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        request = account_services.access_request_create(smart_account=acme.sa, actor=applicant,
                                                         message="I run <Finance>.")
    html = html_of(mailoutbox[-1])
    assert "applicant@example.com" in html and "I run &lt;Finance&gt;." in html
    assert f"/sa/{acme.sa.pk}/users/" in html

    with django_capture_on_commit_callbacks(execute=True):
        account_services.access_request_approve(access_request=request, actor=acme.users["sa_admin"],
                                                role=Role.SA_VIEWER, virtual_accounts=[])
    assert mailoutbox[-1].to == ["applicant@example.com"]
    html = html_of(mailoutbox[-1])
    assert "approved" in html and f"/sa/{acme.sa.pk}/" in html


def test_the_support_reply_email_has_an_html_version(staff_user, mailoutbox, django_capture_on_commit_callbacks):
    case = SupportCaseFactory(subject="Licenses missing")
    SupportMessageFactory(case=case)
    with django_capture_on_commit_callbacks(execute=True):
        account_services.support_case_reply(case=case, author=staff_user, body="Found them in US.", from_staff=True)

    html = html_of(mailoutbox[-1])
    assert "Found them in US." in html and f"/support/{case.pk}/" in html and "Licenses missing" in html
