"""GET /api/v1/virtual-accounts/{id}/licenses/ and /api/v1/smart-accounts/{id}/licenses/, and
POST /api/v1/license-transfers/: viewers up read, users up move; invisible is 404."""
import pytest

from accounts.models import Event
from licensing.selectors import pool_position

from tests.factories import DeviceFactory, DeviceUsageFactory, EntitlementFactory, ProductFactory, VirtualAccountFactory
from tests.licensing.conftest import acme, product, subscription_product  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db


def use(va, product, count):
    DeviceUsageFactory(device=DeviceFactory(virtual_account=va), product=product, count=count)


@pytest.fixture
def pools(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    use(acme.us, product, 4)
    use(acme.finance, product, 2)
    EntitlementFactory(virtual_account=acme.europe, product=ProductFactory(sku="C9300-DNA", family="Switching"), quantity=3)
    return acme


def rows(response) -> dict:
    assert response.status_code == 200, response.content
    return {r["sku"]: (r["purchased"], r["in_use"], r["available"], r["shortage"], r["status"]) for r in response.json()["results"]}


def test_licenses_of_a_virtual_account(pools, api_as):
    response = api_as(pools.va_viewer).get(f"/api/v1/virtual-accounts/{pools.us.pk}/licenses/")

    assert rows(response) == {"ISR-SEC-K9": (10, 4, 6, 0, "in_compliance")}
    assert response.json()["results"][0] == {
        "product": response.json()["results"][0]["product"], "sku": "ISR-SEC-K9", "name": "ISR Security",
        "family": "Routing", "purchased": 10, "in_use": 4, "available": 6, "shortage": 0, "status": "in_compliance"}


def test_licenses_of_a_virtual_account_with_its_subtree(pools, api_as):
    response = api_as(pools.va_viewer).get(f"/api/v1/virtual-accounts/{pools.us.pk}/licenses/?subtree=1")

    # Finance's shortage is its own: US's 6 spare licenses do not cover it.
    assert rows(response) == {"ISR-SEC-K9": (10, 6, 6, 2, "shortage")}


def test_licenses_of_a_smart_account(pools, api_as):
    assert rows(api_as(pools.sa_viewer, key=True).get(f"/api/v1/smart-accounts/{pools.account.pk}/licenses/")) == {
        "ISR-SEC-K9": (10, 6, 6, 2, "shortage"), "C9300-DNA": (3, 0, 3, 0, "in_compliance")}
    # A VA role sees the account through its subtree only.
    assert rows(api_as(pools.va_viewer).get(f"/api/v1/smart-accounts/{pools.account.pk}/licenses/")) == {
        "ISR-SEC-K9": (10, 6, 6, 2, "shortage")}


def test_licenses_filter_by_family_and_status(pools, api_as):
    client = api_as(pools.sa_viewer)
    url = f"/api/v1/smart-accounts/{pools.account.pk}/licenses/"
    assert set(rows(client.get(url + "?family=switching"))) == {"C9300-DNA"}
    assert set(rows(client.get(url + "?status=shortage"))) == {"ISR-SEC-K9"}
    assert client.get(url + "?status=maybe").status_code == 400


def test_invisible_licenses_are_404(pools, api_as, anon):
    assert api_as(pools.va_viewer).get(f"/api/v1/virtual-accounts/{pools.europe.pk}/licenses/").status_code == 404
    assert api_as(pools.outsider).get(f"/api/v1/virtual-accounts/{pools.us.pk}/licenses/").status_code == 404
    assert api_as(pools.outsider).get(f"/api/v1/smart-accounts/{pools.account.pk}/licenses/").status_code == 404
    assert api_as(pools.outsider).get("/api/v1/virtual-accounts/999999/licenses/").status_code == 404
    assert anon.get(f"/api/v1/virtual-accounts/{pools.us.pk}/licenses/").status_code == 401


def _world(acme, size):
    products = [ProductFactory() for _ in range(size)]
    for _ in range(size):
        va = VirtualAccountFactory(parent=acme.us)
        for p in products:
            EntitlementFactory(virtual_account=va, product=p, quantity=3)
            use(va, p, 1)


@pytest.mark.parametrize("size", [2, 12])
def test_license_lists_take_the_same_queries_for_few_and_many(acme, api_as, size, django_assert_num_queries):
    _world(acme, size)
    client = api_as(acme.va_viewer, key=True)

    # 2 API key (find, touch); 1 the VA, visible; 2 purchased and in use per VA × product; 1 the products.
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/virtual-accounts/{acme.us.pk}/licenses/?subtree=1&page_size=500")
    assert response.json()["count"] == size
    # 2 API key; 1 the account, visible; 2 pools; 1 products.
    with django_assert_num_queries(6):
        response = client.get(f"/api/v1/smart-accounts/{acme.account.pk}/licenses/?page_size=500")
    assert response.json()["count"] == size


# --- transfers ------------------------------------------------------------------------------


def transfer(client, source, target, *lines):
    return client.post("/api/v1/license-transfers/", {
        "from_virtual_account": source.pk, "to_virtual_account": target.pk,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines]}, format="json")


def test_users_transfer_licenses(pools, api_as, product):
    response = transfer(api_as(pools.sa_user, key=True), pools.us, pools.europe, ("isr-sec-k9", 5))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_virtual_account"], body["to_virtual_account"], body["lines"]) == (
        pools.us.pk, pools.europe.pk, [{"sku": "ISR-SEC-K9", "quantity": 5}])
    assert [(e["sku"], e["quantity"], e["virtual_account"], e["source"]) for e in body["entitlements"]] == [
        ("ISR-SEC-K9", 5, pools.europe.pk, "transfer")]
    assert pool_position(pools.europe, product).purchased == 5
    assert Event.objects.get(action="licenses.transferred").actor == pools.sa_user


def test_a_transfer_never_takes_more_than_available(pools, api_as):
    response = transfer(api_as(pools.admin), pools.us, pools.europe, ("ISR-SEC-K9", 7))

    assert response.status_code == 400
    assert response.json() == {"lines.0.quantity": ["7 requested, 6 available in US."]}


def test_viewers_may_not_transfer(pools, api_as):
    assert transfer(api_as(pools.sa_viewer), pools.us, pools.europe, ("ISR-SEC-K9", 1)).status_code == 403
    assert transfer(api_as(pools.va_user), pools.us, pools.finance, ("ISR-SEC-K9", 1)).status_code == 201
    # A VA user may not move licenses out of its subtree's reach: Europe is invisible to it.
    response = transfer(api_as(pools.va_user), pools.us, pools.europe, ("ISR-SEC-K9", 1))
    assert response.status_code == 400 and list(response.json()) == ["to_virtual_account"]


def test_a_transfer_between_accounts_is_refused(pools, api_as, staff_user):
    other = VirtualAccountFactory()
    response = transfer(api_as(staff_user), pools.us, other, ("ISR-SEC-K9", 1))
    assert response.status_code == 400 and "to_virtual_account" in response.json()


def test_a_transfer_shape_is_checked(pools, api_as):
    client = api_as(pools.admin)
    assert client.post("/api/v1/license-transfers/", {"lines": []}, format="json").json().keys() == {
        "from_virtual_account", "to_virtual_account"}
    response = transfer(client, pools.us, pools.europe)
    assert response.status_code == 400 and "lines" in response.json()
