"""PAKs (GET /smart-accounts/{id}/classic-licenses/, POST /classic-licenses/{id}/register/ and
/convert/, POST /classic-licenses/verify/), the event log (GET /smart-accounts/{id}/events/),
reconciliation and usage history from the daily snapshots, and alert preferences."""
import datetime

import pytest

from accounts.models import Event

from tests.factories import ClassicLicenseFactory, EventFactory, ProductFactory, UsageSnapshotFactory, VirtualAccountFactory
from tests.licensing.conftest import acme, product, subscription_product  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db

D = datetime.date(2025, 3, 1)


def day(n: int) -> datetime.date:
    return D + datetime.timedelta(days=n)


# --- classic licenses ---------------------------------------------------------------------------


@pytest.fixture
def pak(acme):
    smart = ProductFactory(sku="L-ASA-100")
    classic = ProductFactory(sku="ASA-PAK-100", name="ASA 100", classic=True, smart_equivalent=smart)
    return ClassicLicenseFactory(smart_account=acme.account, product=classic, quantity=2, pak="PAK-1")


def test_paks_of_an_account(acme, pak, api_as):
    results = api_as(acme.sa_viewer).get(f"/api/v1/smart-accounts/{acme.account.pk}/classic-licenses/").json()["results"]

    assert [(p["pak"], p["sku"], p["quantity"], p["status"]) for p in results] == [("PAK-1", "ASA-PAK-100", 2, "available")]
    assert api_as(acme.outsider).get(f"/api/v1/smart-accounts/{acme.account.pk}/classic-licenses/").status_code == 404


def test_registering_a_pak_returns_a_verifiable_license_key(acme, pak, api_as, anon):
    response = api_as(acme.sa_user).post(f"/api/v1/classic-licenses/{pak.pk}/register/", {"serial_number": "FTX9"},
                                         format="json")

    assert response.status_code == 200, response.content
    key = response.json()["license_key"]
    verified = anon.post("/api/v1/classic-licenses/verify/", {"license_key": key, "serial_number": "FTX9"}, format="json")
    assert verified.status_code == 200
    assert {k: verified.json()[k] for k in ("pak", "sku", "serial_number")} == {"pak": "PAK-1", "sku": "ASA-PAK-100",
                                                                               "serial_number": "FTX9"}
    assert anon.post("/api/v1/classic-licenses/verify/", {"license_key": key + "x"}, format="json").status_code == 400
    again = api_as(acme.sa_user).post(f"/api/v1/classic-licenses/{pak.pk}/register/", {"serial_number": "X"}, format="json")
    assert again.status_code == 400 and "pak" in again.json()


def test_pak_registration_needs_an_account_user(acme, pak, api_as):
    url = f"/api/v1/classic-licenses/{pak.pk}/register/"
    assert api_as(acme.sa_viewer).post(url, {"serial_number": "X"}, format="json").status_code == 403
    # A VA role does not see the account's PAKs at all.
    assert api_as(acme.va_user).post(url, {"serial_number": "X"}, format="json").status_code == 404
    assert api_as(acme.outsider).post(url, {"serial_number": "X"}, format="json").status_code == 404


def test_converting_a_pak(acme, pak, api_as):
    response = api_as(acme.admin).post(f"/api/v1/classic-licenses/{pak.pk}/convert/", {"virtual_account": acme.us.pk},
                                       format="json")

    assert response.status_code == 201, response.content
    assert (response.json()["sku"], response.json()["quantity"], response.json()["source"]) == ("L-ASA-100", 2, "conversion")
    other = VirtualAccountFactory()
    response = api_as(acme.admin).post(f"/api/v1/classic-licenses/{pak.pk}/convert/", {"virtual_account": other.pk},
                                       format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("size", [2, 15])
def test_pak_list_takes_the_same_queries_for_few_and_many(acme, api_as, size, django_assert_num_queries):
    for _ in range(size):
        ClassicLicenseFactory(smart_account=acme.account)
    client = api_as(acme.sa_viewer, key=True)

    # 2 API key; 1 the account, visible; 1 count; 1 the page with products and VAs.
    with django_assert_num_queries(5):
        assert client.get(f"/api/v1/smart-accounts/{acme.account.pk}/classic-licenses/").json()["count"] == size


# --- the event log --------------------------------------------------------------------------------


def test_event_log_newest_first_paginated_and_filtered(acme, api_as):
    for n in range(3):
        EventFactory(smart_account=acme.account, action="device.registered", virtual_account=acme.finance,
                     detail={"n": n})
    EventFactory(smart_account=acme.account, action="token.created", virtual_account=acme.europe)
    client = api_as(acme.sa_viewer)
    url = f"/api/v1/smart-accounts/{acme.account.pk}/events/"

    page = client.get(url + "?action=device.&page_size=2").json()
    assert page["count"] == 3 and page["next"] and [e["detail"]["n"] for e in page["results"]] == [2, 1]
    assert [e["action"] for e in client.get(url + f"?virtual_account={acme.europe.pk}").json()["results"]][:1] == ["token.created"]
    assert client.get(url + "?since=2099-01-01").json()["count"] == 0
    assert client.get(url + "?since=soon").status_code == 400
    first = client.get(url).json()["results"][0]
    assert set(first) == {"id", "created_at", "action", "actor", "virtual_account", "virtual_account_name", "object_type",
                          "object_id", "object_repr", "detail"}


def test_a_va_role_sees_its_subtrees_events_only(acme, api_as):
    EventFactory(smart_account=acme.account, action="token.created", virtual_account=acme.europe)
    EventFactory(smart_account=acme.account, action="token.created", virtual_account=acme.finance)
    client = api_as(acme.va_viewer)

    results = client.get(f"/api/v1/smart-accounts/{acme.account.pk}/events/?action=token.created").json()["results"]
    assert [e["virtual_account_name"] for e in results] == ["Finance"]
    assert client.get(f"/api/v1/smart-accounts/{acme.account.pk}/events/?virtual_account={acme.europe.pk}").status_code == 400
    assert api_as(acme.outsider).get(f"/api/v1/smart-accounts/{acme.account.pk}/events/").status_code == 404


@pytest.mark.parametrize("who", ["va_viewer", "sa_viewer"])
@pytest.mark.parametrize("size", [2, 15])
def test_event_log_takes_the_same_queries_for_few_and_many(acme, api_as, size, who, django_assert_num_queries):
    Event.objects.all().delete()
    for _ in range(size):
        EventFactory(smart_account=acme.account, action="device.registered", virtual_account=acme.us)
    client = api_as(getattr(acme, who), key=True)

    # 2 API key; 1 the account, visible; 1 whole account (SA role: no per-row check)?; 1 count;
    # 1 the page with VAs.
    with django_assert_num_queries(6):
        assert client.get(f"/api/v1/smart-accounts/{acme.account.pk}/events/").json()["count"] == size


# --- reconciliation and usage history -----------------------------------------------------------


@pytest.fixture
def history(acme, product):
    for n, (purchased, in_use) in enumerate([(3, 2), (3, 5), (3, 4), (3, 3)]):
        UsageSnapshotFactory(virtual_account=acme.us, product=product, day=day(n), purchased=purchased, in_use=in_use)
        UsageSnapshotFactory(virtual_account=acme.europe, product=product, day=day(n), purchased=5, in_use=6)
    return acme


def test_reconciliation_gives_peak_shortage_per_product(history, api_as):
    url = f"/api/v1/smart-accounts/{history.account.pk}/reconciliation/?start={day(0)}&end={day(3)}"
    [line] = api_as(history.sa_viewer).get(url).json()["results"]

    assert {k: line[k] for k in ("sku", "peak_shortage", "peak_day", "days_in_shortage", "peak_in_use")} == {
        "sku": "ISR-SEC-K9", "peak_shortage": 3, "peak_day": day(1).isoformat(), "days_in_shortage": 4, "peak_in_use": 11}
    # A VA role: its subtree only.
    [mine] = api_as(history.va_viewer).get(url).json()["results"]
    assert (mine["peak_shortage"], mine["days_in_shortage"]) == (2, 2)
    [europe] = api_as(history.sa_viewer).get(url + f"&virtual_account={history.europe.pk}").json()["results"]
    assert (europe["peak_shortage"], europe["days_in_shortage"]) == (1, 4)


def test_reconciliation_period_is_checked(history, api_as):
    client = api_as(history.sa_viewer)
    base = f"/api/v1/smart-accounts/{history.account.pk}/reconciliation/"
    assert client.get(base + "?start=2025-03-05&end=2025-03-01").json().keys() == {"end"}
    assert client.get(base + "?start=March").json().keys() == {"start"}
    assert client.get(base).status_code == 200  # the last 30 days by default


def test_usage_history_for_a_chart(history, api_as):
    url = f"/api/v1/smart-accounts/{history.account.pk}/usage-history/?start={day(1)}&end={day(2)}"
    [series] = api_as(history.sa_viewer).get(url).json()["results"]

    assert series["sku"] == "ISR-SEC-K9"
    assert series["points"] == [
        {"day": day(1).isoformat(), "purchased": 8, "in_use": 11, "shortage": 3},
        {"day": day(2).isoformat(), "purchased": 8, "in_use": 10, "shortage": 2}]


@pytest.mark.parametrize("size", [2, 12])
def test_reconciliation_and_history_take_the_same_queries_for_few_and_many(acme, api_as, size, django_assert_num_queries):
    products = [ProductFactory() for _ in range(size)]
    for n in range(size):
        for p in products:
            UsageSnapshotFactory(virtual_account=acme.us, product=p, day=day(n), purchased=1, in_use=2)
    client = api_as(acme.sa_viewer, key=True)
    query = f"?start={day(0)}&end={day(size)}"

    # 2 API key; 1 the account, visible; 1 daily sums; 1 the products.
    with django_assert_num_queries(5):
        assert client.get(f"/api/v1/smart-accounts/{acme.account.pk}/reconciliation/{query}").json()["count"] == size
    with django_assert_num_queries(5):
        assert client.get(f"/api/v1/smart-accounts/{acme.account.pk}/usage-history/{query}").json()["count"] == size


# --- alert preferences ------------------------------------------------------------------------


def test_alert_preferences(acme, api_as):
    url = f"/api/v1/smart-accounts/{acme.account.pk}/alert-preferences/"
    assert api_as(acme.admin).get(url).json()["expiry_windows"] == [90, 30, 7]
    assert api_as(acme.sa_viewer).get(url).status_code == 403  # account settings: SA admins
    assert api_as(acme.sa_user).patch(url, {"daily_summary": True}, format="json").status_code == 403
    response = api_as(acme.admin).patch(url, {"daily_summary": True, "extra_recipients": ["noc@example.com"]}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["daily_summary"], response.json()["extra_recipients"]) == (True, ["noc@example.com"])
    bad = api_as(acme.admin).patch(url, {"extra_recipients": ["x@other.example"]}, format="json")
    assert bad.status_code == 400 and "extra_recipients" in bad.json()
    assert api_as(acme.outsider).get(url).status_code == 404
