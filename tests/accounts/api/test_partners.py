"""/api/v1/partners/: staff create partners and see them all; partner users see their own."""
import pytest

from accounts.models import Partner

from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_staff_creates_a_reseller(staff_api):
    response = staff_api.post("/api/v1/partners/", {"name": "Bright Resale", "kind": "reseller"}, format="json")
    assert response.status_code == 201
    partner = Partner.objects.get(name="Bright Resale")
    body = response.json()
    assert body["id"] == partner.pk
    assert body["kind"] == "reseller"
    assert body["distributors"] == []


def test_staff_creates_a_reseller_linked_to_its_distributor(staff_api):
    distributor = PartnerFactory(distributor=True, name="Big Distribution")
    response = staff_api.post(
        "/api/v1/partners/", {"name": "Small Resale", "kind": "reseller", "distributor": distributor.pk}, format="json"
    )
    assert response.status_code == 201
    reseller = Partner.objects.get(name="Small Resale")
    assert list(distributor.linked_resellers.all()) == [reseller]
    assert response.json()["distributors"] == [distributor.pk]


def test_staff_creates_a_distributor(staff_api):
    response = staff_api.post("/api/v1/partners/", {"name": "Wide Distribution", "kind": "distributor"}, format="json")
    assert response.status_code == 201
    assert Partner.objects.get(name="Wide Distribution").kind == "distributor"


@pytest.mark.parametrize("caller", ["partner_admin_api", "partner_member_api", "user_api"])
def test_non_staff_may_not_create_partners(caller, request):
    client = request.getfixturevalue(caller)
    response = client.post("/api/v1/partners/", {"name": "Sneaky", "kind": "reseller"}, format="json")
    assert response.status_code == 403
    assert not Partner.objects.filter(name="Sneaky").exists()


def test_anonymous_may_not_create_or_list_partners(anon, partner):
    assert anon.post("/api/v1/partners/", {"name": "Sneaky", "kind": "reseller"}, format="json").status_code == 401
    assert anon.get("/api/v1/partners/").status_code == 401
    assert anon.get(f"/api/v1/partners/{partner.pk}/").status_code == 401
    assert not Partner.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "reseller"}, "name"),
        ({"name": "  ", "kind": "reseller"}, "name"),
        ({"name": "Acme Resellers", "kind": "reseller"}, "name"),  # taken (case-insensitively) by `partner`
        ({"name": "Kindless", "kind": "wholesaler"}, "kind"),
        ({"name": "Kindless"}, "kind"),
        ({"name": "Orphan", "kind": "reseller", "distributor": 999999}, "distributor"),
        ({"name": "Orphan", "kind": "reseller", "distributor": "abc"}, "distributor"),
    ],
)
def test_bad_input_is_field_keyed_400_and_creates_nothing(staff_api, partner, body, field):
    before = Partner.objects.count()
    response = staff_api.post("/api/v1/partners/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Partner.objects.count() == before


def test_distributor_must_be_a_distributor(staff_api, partner):
    response = staff_api.post(
        "/api/v1/partners/", {"name": "Second Tier", "kind": "reseller", "distributor": partner.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["distributor"]
    assert not Partner.objects.filter(name="Second Tier").exists()


def test_only_a_reseller_gets_a_distributor(staff_api):
    distributor = PartnerFactory(distributor=True)
    response = staff_api.post(
        "/api/v1/partners/", {"name": "Tiered", "kind": "distributor", "distributor": distributor.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["distributor"]


def test_staff_lists_every_partner(staff_api, partner, other_partner):
    body = staff_api.get("/api/v1/partners/").json()
    assert body["count"] == 2
    assert {p["name"] for p in body["results"]} == {"Acme Resellers", "Other Networks"}
    assert set(body) == {"count", "next", "previous", "results"}


@pytest.mark.parametrize("caller", ["partner_admin_api", "partner_member_api"])
def test_partner_users_list_only_their_partner(caller, request, partner, other_partner):
    body = request.getfixturevalue(caller).get("/api/v1/partners/").json()
    assert [p["id"] for p in body["results"]] == [partner.pk]


def test_ordinary_user_lists_no_partners(user_api, partner):
    assert user_api.get("/api/v1/partners/").json()["count"] == 0


def test_partner_detail_for_staff_and_own_members(staff_api, partner_member_api, partner):
    for client in (staff_api, partner_member_api):
        response = client.get(f"/api/v1/partners/{partner.pk}/")
        assert response.status_code == 200
        assert response.json()["name"] == "Acme Resellers"


def test_other_partner_is_404_for_partner_users_and_ordinary_users(partner_admin_api, user_api, other_partner):
    assert partner_admin_api.get(f"/api/v1/partners/{other_partner.pk}/").status_code == 404
    assert user_api.get(f"/api/v1/partners/{other_partner.pk}/").status_code == 404


def test_unknown_partner_is_404(staff_api):
    assert staff_api.get("/api/v1/partners/999999/").status_code == 404


@pytest.mark.parametrize("partners", [2, 40])
def test_partner_list_takes_the_same_queries_for_few_and_many(staff_api, partners, django_assert_num_queries):
    distributor = PartnerFactory(distributor=True)
    distributor.linked_resellers.set(PartnerFactory.create_batch(partners - 1))
    # API key lookup (with its user), its last-use update, the count, the page, its distributors, its resellers.
    with django_assert_num_queries(6):
        assert staff_api.get("/api/v1/partners/").json()["count"] == partners
