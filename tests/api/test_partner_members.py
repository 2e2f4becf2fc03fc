"""/api/v1/partners/{id}/members/: its admins and staff add members; its members and staff list them."""
import pytest

from accounts.models import PartnerMembership

from ..factories import PartnerMembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(db):
    return UserFactory(email="newcomer@acme-resellers.example", name="New Comer")


def members_url(partner) -> str:
    return f"/api/v1/partners/{partner.pk}/members/"


@pytest.mark.parametrize("caller", ["staff_api", "partner_admin_api"])
def test_staff_and_partner_admin_add_a_member(caller, request, partner, newcomer):
    response = request.getfixturevalue(caller).post(members_url(partner), {"email": "NewComer@acme-resellers.example"},
                                                    format="json")
    assert response.status_code == 201
    membership = PartnerMembership.objects.get(user=newcomer)
    assert membership.partner == partner and not membership.is_admin
    assert response.json() == {
        "id": membership.pk, "user": newcomer.pk, "email": "newcomer@acme-resellers.example", "name": "New Comer",
        "is_admin": False, "created_at": response.json()["created_at"],
    }


def test_partner_admin_adds_another_admin(partner_admin_api, partner, newcomer):
    response = partner_admin_api.post(members_url(partner), {"email": newcomer.email, "is_admin": True}, format="json")
    assert response.status_code == 201
    assert PartnerMembership.objects.get(user=newcomer).is_admin


def test_partner_member_who_is_not_admin_gets_403(partner_member_api, partner, newcomer):
    response = partner_member_api.post(members_url(partner), {"email": newcomer.email}, format="json")
    assert response.status_code == 403
    assert not PartnerMembership.objects.filter(user=newcomer).exists()


def test_admin_of_another_partner_gets_404(partner_admin_api, other_partner, newcomer):
    response = partner_admin_api.post(members_url(other_partner), {"email": newcomer.email}, format="json")
    assert response.status_code == 404
    assert not PartnerMembership.objects.filter(user=newcomer).exists()


def test_ordinary_user_gets_404(user_api, partner, newcomer):
    assert user_api.post(members_url(partner), {"email": newcomer.email}, format="json").status_code == 404
    assert user_api.get(members_url(partner)).status_code == 404
    assert not PartnerMembership.objects.filter(user=newcomer).exists()


def test_anonymous_gets_401(anon, partner, newcomer):
    assert anon.post(members_url(partner), {"email": newcomer.email}, format="json").status_code == 401
    assert anon.get(members_url(partner)).status_code == 401


def test_unknown_partner_is_404(staff_api, newcomer):
    response = staff_api.post("/api/v1/partners/999999/members/", {"email": newcomer.email}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "nobody@nowhere.example"}],
)
def test_bad_email_is_field_keyed_400_and_adds_nothing(partner_admin_api, partner, body):
    before = PartnerMembership.objects.count()
    response = partner_admin_api.post(members_url(partner), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert PartnerMembership.objects.count() == before


def test_member_of_another_partner_cannot_be_added(partner_admin_api, partner, other_partner):
    taken = PartnerMembershipFactory(partner=other_partner).user
    response = partner_admin_api.post(members_url(partner), {"email": taken.email}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    assert PartnerMembership.objects.get(user=taken).partner == other_partner


def test_bad_is_admin_is_field_keyed_400(partner_admin_api, partner, newcomer):
    response = partner_admin_api.post(members_url(partner), {"email": newcomer.email, "is_admin": "perhaps"},
                                      format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["is_admin"]


@pytest.mark.parametrize("caller", ["staff_api", "partner_admin_api", "partner_member_api"])
def test_members_and_staff_list_members(caller, request, partner, partner_admin, partner_member, other_partner):
    PartnerMembershipFactory(partner=other_partner)
    body = request.getfixturevalue(caller).get(members_url(partner)).json()
    assert body["count"] == 2
    assert {(m["email"], m["is_admin"]) for m in body["results"]} == {
        ("admin@acme-resellers.example", True), ("member@acme-resellers.example", False),
    }


def test_members_of_another_partner_are_404(partner_member_api, other_partner):
    assert partner_member_api.get(members_url(other_partner)).status_code == 404


@pytest.mark.parametrize("extra_members", [2, 40])
def test_member_list_takes_the_same_queries_for_few_and_many(staff_api, partner, extra_members,
                                                             django_assert_num_queries):
    PartnerMembershipFactory.create_batch(extra_members, partner=partner)
    # API key lookup (with its user), its last-use update, the partner, the count, the page with users.
    with django_assert_num_queries(5):
        assert staff_api.get(members_url(partner)).json()["count"] == extra_members
