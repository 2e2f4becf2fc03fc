"""Devices report usage (flows 10 and 11): `device_report_usage`, pools and shortages."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Event, Notification
from licensing.models import Device, DeviceUsage, Shortage
from licensing.selectors import pool_position
from licensing.services import device_report_usage

from ..factories import DeviceFactory, DeviceUsageFactory, EntitlementFactory, ProductFactory
from ..markers import ON_POSTGRES

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def device(acme):
    return DeviceFactory(virtual_account=acme.us, last_contact_at=timezone.now() - datetime.timedelta(days=3))


@pytest.fixture
def other(db):
    return ProductFactory(sku="DNA-ESS", name="DNA Essentials")


def usage_of(device) -> dict[str, int]:
    return dict(DeviceUsage.objects.filter(device=device).values_list("product__sku", "count"))


def report(device, **counts):
    return device_report_usage(device=device, usage=[{"sku": sku.replace("_", "-"), "count": n} for sku, n in counts.items()])


def test_usage_counts_are_absolute_and_replace_the_last_report(acme, device, product, other):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=10)
    report(device, ISR_SEC_K9=3, DNA_ESS=2)
    report(device, ISR_SEC_K9=5)  # DNA-ESS left out: it drops to 0

    assert usage_of(device) == {"ISR-SEC-K9": 5}
    assert pool_position(acme.us, product).in_use == 5
    assert pool_position(acme.us, other).in_use == 0


def test_a_zero_count_frees_the_product(acme, device, product):
    report(device, ISR_SEC_K9=3)
    report(device, ISR_SEC_K9=0)

    assert usage_of(device) == {}


def test_sending_the_same_report_twice_changes_nothing(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=1)
    first = report(device, ISR_SEC_K9=3)
    rows = list(DeviceUsage.objects.values_list("pk", "count", "updated_at"))
    events = Event.objects.count()

    second = report(device, ISR_SEC_K9=3)

    assert first == second == [("ISR-SEC-K9", "shortage")]
    assert list(DeviceUsage.objects.values_list("pk", "count", "updated_at")) == rows
    assert Event.objects.count() == events
    assert Shortage.objects.count() == 1


def test_a_report_updates_last_contact(device, product):
    before = device.last_contact_at

    report(device, ISR_SEC_K9=1)

    assert Device.objects.get(pk=device.pk).last_contact_at > before


@pytest.mark.parametrize("others", [2, 20])
def test_a_report_runs_the_same_queries_however_many_devices_share_its_pool(acme, device, product, others,
                                                                              django_assert_num_queries):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=100)
    for _ in range(others):
        DeviceUsageFactory(device=DeviceFactory(virtual_account=acme.us), product=product, count=1)

    # Savepoint; 1 the products by SKU; 2 lock the device and record the contact; 3 delete the
    # products left out, 4 upsert the counts that changed (PostgreSQL: 2-4 in one round trip);
    # 5 lock the pool, 6 read it with its open shortages (PostgreSQL: one round trip); release.
    with django_assert_num_queries(5 if ON_POSTGRES else 8):
        assert report(device, ISR_SEC_K9=2) == [("ISR-SEC-K9", "in_compliance")]
    # The same report again changes nothing: no pool lock, the read alone.
    with django_assert_num_queries(5 if ON_POSTGRES else 7):
        assert report(device, ISR_SEC_K9=2) == [("ISR-SEC-K9", "in_compliance")]


def test_unknown_skus_are_refused_naming_them(device, product):
    with pytest.raises(ValidationError) as exc:
        device_report_usage(device=device, usage=[{"sku": "ISR-SEC-K9", "count": 1}, {"sku": "NOPE-1", "count": 1},
                                                  {"sku": "nope-2", "count": 2}])

    assert exc.value.message_dict == {"usage": ["Unknown SKUs: NOPE-1, NOPE-2."]}
    assert usage_of(device) == {}


@pytest.mark.parametrize("count", [-1, 1.5, "3", True, None])
def test_counts_are_whole_numbers_from_zero(device, product, count):
    with pytest.raises(ValidationError) as exc:
        device_report_usage(device=device, usage=[{"sku": "ISR-SEC-K9", "count": count}])
    assert list(exc.value.message_dict) == ["usage"]


def test_a_sku_is_reported_once(device, product):
    with pytest.raises(ValidationError) as exc:
        device_report_usage(device=device, usage=[{"sku": "ISR-SEC-K9", "count": 1}, {"sku": "isr-sec-k9", "count": 2}])
    assert "ISR-SEC-K9" in exc.value.message_dict["usage"][0]


def test_classic_products_are_not_consumed_from_a_pool(device):
    ProductFactory(sku="ASA-PAK", classic=True)

    with pytest.raises(ValidationError) as exc:
        report(device, ASA_PAK=1)
    assert "ASA-PAK" in exc.value.message_dict["usage"][0]


def test_usage_above_the_pool_is_accepted_and_shows_as_shortage(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)

    statuses = report(device, ISR_SEC_K9=5)

    assert statuses == [("ISR-SEC-K9", "shortage")]
    line = pool_position(acme.us, product)
    assert (line.purchased, line.in_use, line.available, line.shortage) == (2, 5, 0, 3)


def test_crossing_into_shortage_records_an_event_and_owes_an_email_to_the_admins(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    report(device, ISR_SEC_K9=2)  # exactly the pool: no shortage
    assert not Event.objects.filter(action__startswith="compliance.").exists()

    report(device, ISR_SEC_K9=4)
    report(device, ISR_SEC_K9=6)  # deeper in shortage: no second crossing

    event = Event.objects.get(action="compliance.shortage_started")
    assert (event.virtual_account, event.detail["sku"], event.detail["shortage"], event.detail["purchased"]) == (
        acme.us, "ISR-SEC-K9", 2, 2)
    shortage = Shortage.objects.get()
    assert (shortage.virtual_account, shortage.product, shortage.quantity, shortage.cleared_at) == (acme.us, product, 2, None)
    owed = Notification.objects.get(kind="insufficient_licenses")
    assert owed.recipient == acme.admin.email
    assert "ISR-SEC-K9" in owed.subject and "US" in owed.subject
    assert "Shortage:  2" in owed.body_text


def test_crossing_out_of_shortage_records_an_event_and_owes_an_email(acme, device, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=2)
    report(device, ISR_SEC_K9=4)

    report(device, ISR_SEC_K9=1)

    assert list(Event.objects.filter(action__startswith="compliance.").values_list("action", flat=True)) == [
        "compliance.shortage_cleared", "compliance.shortage_started"]
    assert Shortage.objects.get().cleared_at is not None
    assert Notification.objects.filter(kind="licenses_sufficient", recipient=acme.admin.email).count() == 1

    report(device, ISR_SEC_K9=3)  # a new shortage: announced again

    assert Event.objects.filter(action="compliance.shortage_started").count() == 2
    assert Notification.objects.filter(kind="insufficient_licenses").count() == 2
    assert Shortage.objects.filter(cleared_at__isnull=True).count() == 1


def test_the_shortage_email_is_sent(acme, device, product, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report(device, ISR_SEC_K9=1)

    assert [(m.to, m.subject) for m in mailoutbox] == [
        ([acme.admin.email], "Insufficient licenses: ISR-SEC-K9 in Acme / US")]
    assert "now use more ISR-SEC-K9" in mailoutbox[0].body


def test_pools_are_per_virtual_account(acme, device, product):
    # Plenty in the parent and in a sibling; the device draws only on US's own pool.
    EntitlementFactory(virtual_account=acme.root, product=product, quantity=100)
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=100)
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=1)

    assert report(device, ISR_SEC_K9=2) == [("ISR-SEC-K9", "shortage")]
    assert pool_position(acme.europe, product).in_use == 0
    assert Shortage.objects.get().virtual_account == acme.us


def test_expired_subscriptions_stop_counting(acme, device, subscription_product):
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=5, starts_on=days(-400), ends_on=days(-1))
    EntitlementFactory(virtual_account=acme.us, product=subscription_product, quantity=1, starts_on=days(-10), ends_on=days(355))

    assert device_report_usage(device=device, usage=[{"sku": "DNA-ADV-1Y", "count": 2}]) == [("DNA-ADV-1Y", "shortage")]
    assert pool_position(acme.us, subscription_product).purchased == 1


def test_alerts_can_be_turned_off_and_go_to_extra_recipients(acme, device, product):
    from licensing.services import alert_preferences_update

    alert_preferences_update(smart_account=acme.account, extra_recipients=["noc@example.com"], actor=acme.admin)
    report(device, ISR_SEC_K9=1)
    assert sorted(Notification.objects.filter(kind="insufficient_licenses").values_list("recipient", flat=True)) == [
        "ada@example.com", "noc@example.com"]

    alert_preferences_update(smart_account=acme.account, insufficient_licenses=False, actor=acme.admin)
    report(device, ISR_SEC_K9=0)
    assert Event.objects.filter(action="compliance.shortage_cleared").exists()  # still logged
    assert not Notification.objects.filter(kind="licenses_sufficient").exists()


def test_a_report_of_many_unknown_skus_names_the_first_five_and_counts_the_rest(device, product):
    with pytest.raises(ValidationError) as exc:
        device_report_usage(device=device, usage=[{"sku": f"NOPE-{i:03d}", "count": 1} for i in range(900)])

    assert exc.value.message_dict == {"usage": ["Unknown SKUs: NOPE-000, NOPE-001, NOPE-002, NOPE-003, NOPE-004 and 895 more."]}
