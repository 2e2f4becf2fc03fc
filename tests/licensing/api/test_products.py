"""/api/v1/products/: every signed-in user reads the catalogue; staff add to it."""
import pytest

from licensing.models import Product

from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

NEW = {"sku": "l-isr-sec-3y", "name": "ISR Security 3 years", "family": "Routing", "license_kind": "smart",
       "term_months": 36, "sa_required": True}


@pytest.fixture
def catalogue(db):
    return {
        "router": ProductFactory(sku="L-ISR-BASE", name="ISR Base", family="Routing"),
        "router_sub": ProductFactory(sku="L-ISR-SEC-1Y", name="ISR Security", family="Routing", subscription=True,
                                     sa_required=True),
        "switch": ProductFactory(sku="C9300-DNA", name="Catalyst DNA Advantage", family="Switching",
                                 sa_required=True),
        "pak": ProductFactory(sku="ASA-PAK-100", name="ASA 100 users", family="Security", classic=True),
    }


def skus(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {p["sku"] for p in response.json()["results"]}


def test_staff_adds_a_product(staff_api):
    response = staff_api.post("/api/v1/products/", NEW, format="json")
    assert response.status_code == 201
    product = Product.objects.get(sku="L-ISR-SEC-3Y")
    assert response.json() == {
        "id": product.pk, "sku": "L-ISR-SEC-3Y", "name": "ISR Security 3 years", "family": "Routing",
        "license_kind": "smart", "term_months": 36, "sa_required": True, "is_active": True,
    }


def test_a_product_without_term_is_perpetual_smart(staff_api):
    response = staff_api.post("/api/v1/products/", {"sku": "L-ASR-BASE", "name": "ASR Base", "family": "Routing"},
                              format="json")
    assert response.status_code == 201
    assert response.json()["term_months"] is None
    assert response.json()["license_kind"] == "smart"
    assert response.json()["sa_required"] is False


@pytest.mark.parametrize("caller", ["partner_admin_api", "partner_member_api", "user_api"])
def test_non_staff_may_not_add_products(caller, request):
    response = request.getfixturevalue(caller).post("/api/v1/products/", NEW, format="json")
    assert response.status_code == 403
    assert not Product.objects.exists()


def test_anonymous_may_neither_read_nor_add_products(anon, catalogue):
    assert anon.post("/api/v1/products/", NEW, format="json").status_code == 401
    assert anon.get("/api/v1/products/").status_code == 401
    assert anon.get(f"/api/v1/products/{catalogue['router'].pk}/").status_code == 401
    assert Product.objects.count() == 4


@pytest.mark.parametrize(
    "change, field",
    [
        ({"sku": ""}, "sku"),
        ({"sku": "has spaces"}, "sku"),
        ({"sku": "l-isr-base"}, "sku"),  # taken (case-insensitively) by the catalogue
        ({"name": " "}, "name"),
        ({"family": ""}, "family"),
        ({"license_kind": "floating"}, "license_kind"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": "soon"}, "term_months"),
        ({"term_months": 1000}, "term_months"),
        ({"sa_required": "perhaps"}, "sa_required"),
    ],
)
def test_bad_input_is_field_keyed_400_and_creates_nothing(staff_api, catalogue, change, field):
    response = staff_api.post("/api/v1/products/", {**NEW, **change}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Product.objects.count() == 4


def test_every_wrong_field_is_named_at_once(staff_api):
    response = staff_api.post("/api/v1/products/", {"sku": "", "name": "", "family": ""}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"sku", "name", "family"}


@pytest.mark.parametrize("caller", ["staff_api", "partner_admin_api", "partner_member_api", "user_api"])
def test_every_signed_in_user_reads_the_catalogue(caller, request, catalogue):
    client = request.getfixturevalue(caller)
    assert skus(client.get("/api/v1/products/")) == {"L-ISR-BASE", "L-ISR-SEC-1Y", "C9300-DNA", "ASA-PAK-100"}
    detail = client.get(f"/api/v1/products/{catalogue['router_sub'].pk}/")
    assert detail.status_code == 200
    assert detail.json()["term_months"] == 12


@pytest.mark.parametrize(
    "query, expected",
    [
        ("family=routing", {"L-ISR-BASE", "L-ISR-SEC-1Y"}),
        ("license_kind=classic", {"ASA-PAK-100"}),
        ("sa_required=true", {"L-ISR-SEC-1Y", "C9300-DNA"}),
        ("sa_required=false", {"L-ISR-BASE", "ASA-PAK-100"}),
        ("search=isr", {"L-ISR-BASE", "L-ISR-SEC-1Y"}),
        ("search=dna adv", {"C9300-DNA"}),
        ("search=switching", {"C9300-DNA"}),
        ("family=Routing&sa_required=true", {"L-ISR-SEC-1Y"}),
        ("search=nothing-like-this", set()),
    ],
)
def test_catalogue_filters(user_api, catalogue, query, expected):
    assert skus(user_api.get(f"/api/v1/products/?{query}")) == expected


def test_unknown_filter_value_is_field_keyed_400(user_api, catalogue):
    response = user_api.get("/api/v1/products/?license_kind=floating")
    assert response.status_code == 400
    assert list(response.json()) == ["license_kind"]


def test_unknown_product_is_404(user_api):
    assert user_api.get("/api/v1/products/999999/").status_code == 404


def test_catalogue_is_paginated(user_api):
    ProductFactory.create_batch(3)
    body = user_api.get("/api/v1/products/?page_size=2").json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None


@pytest.mark.parametrize("products", [2, 60])
def test_catalogue_takes_the_same_queries_for_few_and_many(user_api, products, django_assert_num_queries):
    ProductFactory.create_batch(products)
    # API key lookup (with its user), its last-use update, the count, the page.
    with django_assert_num_queries(4):
        user_api.get("/api/v1/products/")
