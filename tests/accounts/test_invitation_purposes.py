"""Every emailed link is signed for one purpose: activate a new Smart Account, choose the account of
a delegated order line, or join a partner. Each invitation URL takes its own kind only: any other
kind, opened there (GET) or sent there (POST), page or API, is answered exactly as an invalid link
is, shows nothing of the invitation's account, order or partner, and changes nothing.

The world: Carol, the addressee of one invitation of each kind, all made through the services.
The API takes tokens only at partner-invitations/accept|decline (POST only); the landing page
/invite/<token>/ takes every kind and sends each to its own page."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import (
    Event,
    Invitation,
    InvitationPurpose,
    Notification,
    PartnerKind,
    PartnerMembership,
    Role,
    SmartAccount,
    SmartAccountRole,
    SmartAccountStatus,
)
from orders import services as order_services
from orders.models import OrderLine
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ACTIVATE, ASSIGN, JOIN = (InvitationPurpose.ACTIVATE_ACCOUNT, InvitationPurpose.ASSIGN_ORDER_LINE,
                          InvitationPurpose.JOIN_PARTNER)
KINDS = (ACTIVATE, ASSIGN, JOIN)
INVALID = "not-a-signed-link"

# Each invitation URL, the kind it takes, and what a POST there sends (a valid form for its kind).
PAGES = {
    "activation page": ("accounts:smart_account_activate", ACTIVATE, lambda w: {"grant_partner_role": Role.SA_USER}),
    "partner invitation page": ("accounts:partner_invitation_respond", JOIN, lambda w: {"decision": "accept"}),
    "delegated line page": ("orders:delegated_line_assign", ASSIGN, lambda w: {"assign-smart_account": w.own.pk}),
}
API = {
    "API accept": ("api:partner_invitation_accept", JOIN),
    "API decline": ("api:partner_invitation_decline", JOIN),
}
LANDING_TO = {
    ACTIVATE: "accounts:smart_account_activate", ASSIGN: "orders:delegated_line_assign",
    JOIN: "accounts:partner_invitation_respond",
}


@pytest.fixture
def world(db) -> SimpleNamespace:
    staff = UserFactory(email="staff@vendor.example", is_staff=True, powers="all")
    zenith = account_services.partner_create(name="Zenith Distribution", kind=PartnerKind.DISTRIBUTOR, actor=staff)
    dana = UserFactory(email="dana@zenith.example", name="Dana Distributor")
    account_services.partner_member_add(partner=zenith, email=dana.email, is_admin=True, actor=staff)
    carol = UserFactory(email="carol@quasar.example", name="Carol Contact")
    # Carol's own active account: where a delegated line would go.
    own = account_services.smart_account_create(name="Carol Own", domain="quasar.example", actor=carol)

    requested = account_services.smart_account_request(name="Quasar Labs", domain="quasar.example",
                                                       contact_email=carol.email, actor=dana)
    product = ProductFactory(sku="NB-SMART", name="Nebula Feature Pack")
    order = order_services.order_place(actor=dana, end_customer_name="Quasar Industries",
                                       end_customer_email=carol.email,
                                       lines=[{"sku": product.sku, "quantity": 3, "delegate_to_end_customer": True}])
    account_services.partner_member_invite(partner=zenith, email=carol.email, actor=dana)

    invitations = {kind: Invitation.objects.get(purpose=kind, email=carol.email) for kind in KINDS}
    tokens = {kind: account_services.invitation_token(invitation) for kind, invitation in invitations.items()}
    # What each kind's own page shows, and no other URL may: its account, order, partner, sender.
    names = {
        ACTIVATE: ["Quasar Labs", "Zenith Distribution", dana.email],
        ASSIGN: [order.number, "Quasar Industries", "NB-SMART", "Nebula Feature Pack", "Zenith Distribution"],
        JOIN: ["Zenith Distribution", dana.email],
    }
    return SimpleNamespace(carol=carol, own=own, requested=requested, order=order, zenith=zenith,
                           invitations=invitations, tokens=tokens, names=names)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _state() -> tuple:
    """Everything an invitation URL could change."""
    return (
        sorted(Invitation.objects.values_list("pk", "used_at", "expires_at")),
        sorted(SmartAccount.objects.values_list("pk", "status")),
        sorted(SmartAccountRole.objects.values_list("pk", "user_id", "permission_id")),
        sorted(PartnerMembership.objects.values_list("pk", "partner_id", "user_id", "is_admin")),
        sorted(OrderLine.objects.values_list("pk", "state", "smart_account_id", "virtual_account_id")),
        Event.objects.count(), Notification.objects.count(),
    )


def _answer(response) -> tuple:
    """What a caller learns from an answer: its status and its message (page) or body (API)."""
    if response["Content-Type"].startswith("application/json"):
        return response.status_code, response.json()
    return response.status_code, (response.context or {}).get("message")


def _shown(response) -> str:
    return response.content.decode()


def _names_shown(world, response) -> list[str]:
    """Which names of any of the invitations the answer shows."""
    shown = _shown(response)
    return [name for names in world.names.values() for name in names if name in shown]


def _wrong_kinds() -> list[tuple[str, str, str]]:
    """(URL, kind it does not take, method): pages by GET and POST, the API by POST."""
    takes = {where: spec[1] for where, spec in {**PAGES, **API}.items()}
    return [(where, kind, method) for where in takes for kind in KINDS if kind != takes[where]
            for method in (("POST",) if where in API else ("GET", "POST"))]


def _send(client: Client, where: str, method: str, token: str, world) -> object:
    if where in API:
        return client.post(reverse(API[where][0]), {"token": token}, content_type="application/json")
    url_name, _, form = PAGES[where]
    url = reverse(url_name, args=[token])
    return client.get(url) if method == "GET" else client.post(url, form(world))


@pytest.mark.parametrize(("where", "kind", "method"), _wrong_kinds())
def test_an_invitation_of_another_kind_is_refused_like_an_invalid_link(world, where, kind, method):
    client = _client(world.carol)
    invalid = _send(client, where, method, INVALID, world)
    before = _state()

    response = _send(client, where, method, world.tokens[kind], world)

    assert _answer(response) == _answer(invalid)
    assert response.status_code in (400, 410)
    assert _names_shown(world, response) == []
    assert _state() == before
    assert Invitation.objects.get(pk=world.invitations[kind].pk).used_at is None


@pytest.mark.parametrize(("where", "kind", "method"), _wrong_kinds())
def test_an_invitation_of_another_kind_opened_by_someone_else_is_an_invalid_link_too(world, where, kind, method):
    # Not "this link is for carol@…": a wrong kind of link names nobody, whoever holds it.
    client = _client(UserFactory(email="mallory@elsewhere.example"))
    invalid = _send(client, where, method, INVALID, world)
    before = _state()

    response = _send(client, where, method, world.tokens[kind], world)

    assert _answer(response) == _answer(invalid)
    assert world.carol.email not in _shown(response) and _names_shown(world, response) == []
    assert _state() == before


@pytest.mark.parametrize(("where", "kind", "method"), _wrong_kinds())
def test_a_used_invitation_of_another_kind_is_an_invalid_link_not_a_used_one(world, where, kind, method):
    # Its use is none of this URL's business either.
    Invitation.objects.filter(pk=world.invitations[kind].pk).update(used_at=timezone.now())
    client = _client(world.carol)
    invalid = _send(client, where, method, INVALID, world)

    assert _answer(_send(client, where, method, world.tokens[kind], world)) == _answer(invalid)


@pytest.mark.parametrize("where", list(PAGES))
def test_each_invitation_page_shows_its_own_kind(world, where):
    url_name, kind, _ = PAGES[where]

    response = _client(world.carol).get(reverse(url_name, args=[world.tokens[kind]]))

    assert response.status_code == 200
    assert [name for name in world.names[kind] if name not in _shown(response)] == []
    assert Invitation.objects.get(pk=world.invitations[kind].pk).used_at is None


def test_the_activation_link_activates_its_account(world):
    response = _send(_client(world.carol), "activation page", "POST", world.tokens[ACTIVATE], world)

    assert response.status_code == 302
    world.requested.refresh_from_db()
    assert world.requested.status == SmartAccountStatus.ACTIVE
    assert Invitation.objects.get(pk=world.invitations[ACTIVATE].pk).used_at is not None


def test_the_delegated_line_link_puts_its_line_in_the_chosen_account(world):
    response = _send(_client(world.carol), "delegated line page", "POST", world.tokens[ASSIGN], world)

    assert response.status_code == 302
    assert world.order.lines.get().smart_account == world.own


@pytest.mark.parametrize("where", ["partner invitation page", "API accept"])
def test_the_partner_invitation_link_makes_a_member(world, where):
    response = _send(_client(world.carol), where, "POST", world.tokens[JOIN], world)

    assert response.status_code in (201, 302)
    assert PartnerMembership.objects.filter(partner=world.zenith, user=world.carol).exists()
    assert Invitation.objects.get(pk=world.invitations[JOIN].pk).used_at is not None


def test_the_partner_invitation_link_can_be_declined_through_the_api(world):
    response = _send(_client(world.carol), "API decline", "POST", world.tokens[JOIN], world)

    assert response.status_code == 204
    assert Invitation.objects.get(pk=world.invitations[JOIN].pk).used_at is not None


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_landing_page_sends_each_kind_to_its_own_page_only(world, kind, method):
    client = _client(world.carol)
    url = reverse("portal:invitation_landing", args=[world.tokens[kind]])
    before = _state()

    response = client.get(url) if method == "GET" else client.post(url)

    assert (response.status_code, response["Location"]) == (302, reverse(LANDING_TO[kind], args=[world.tokens[kind]]))
    assert _state() == before


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_landing_page_answers_an_invalid_link_as_every_invitation_page_does(world, method):
    client = _client(world.carol)
    url = reverse("portal:invitation_landing", args=[INVALID])

    landing = client.get(url) if method == "GET" else client.post(url)

    assert _answer(landing) == _answer(_send(client, "activation page", method, INVALID, world))
