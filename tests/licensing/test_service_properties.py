"""Properties of the licensing services on bad input (tests/properties.py): names, SKUs, serial
numbers and descriptions as people type them; quantities and counts that are 0, negative, huge,
over the pool, fractional, strings or booleans; deposit dates far in the past or future, ending
before they start, or datetimes (naive or aware) where days are expected. Either the service
succeeds and what it stored is normalised and consistent (licenses are conserved by a transfer,
a device's usage is exactly its report), or it raises a ValidationError keyed by the field at
fault and writes nothing."""
from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Event
from licensing import selectors, services
from licensing.models import (
    AlertPreferences,
    ClassicLicense,
    Device,
    DeviceUsage,
    Entitlement,
    EntitlementSource,
    Product,
    RegistrationToken,
    Shortage,
)
from licensing.services import MAX_COUNT, SKU_PATTERN, TOKEN_DEFAULT_DAYS, normalise_sku
from tests.factories import (
    ClassicLicenseFactory,
    DeviceFactory,
    EntitlementFactory,
    ProductFactory,
    RegistrationTokenFactory,
    UserFactory,
)
from tests.properties import (
    PROPERTY_SETTINGS,
    days,
    emails,
    is_clean,
    moments,
    names,
    normalised,
    outcome,
    quantities,
    rolled_back,
    texts,
)

pytestmark = pytest.mark.django_db

POOL_ROWS = (Entitlement, Shortage, Event)
DEVICE_ROWS = (Device, DeviceUsage, RegistrationToken, Shortage, Event)


def whole(value, low: int, high: int) -> bool:
    """The rule for a count or quantity: a whole number (an int, or a string of digits) in range."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return isinstance(value, int) and low <= value <= high


def as_whole(value) -> int:
    """The number a service took `value` for (an int, a float of a whole number, digits)."""
    return int(value.strip()) if isinstance(value, str) else int(value)


@pytest.fixture
def world(acme) -> SimpleNamespace:
    """tests/licensing/conftest.py's Acme with a pool: 10 × ISR-SEC-K9 in DEFAULT (5 perpetual,
    5 until a year from now), 4 in US; a device in US using 2; a token; a PAK."""
    staff = UserFactory(email="stella@vendor.example", is_staff=True, powers="all")
    smart = ProductFactory(sku="ISR-SEC-K9", name="ISR Security")
    other = ProductFactory(sku="DNA-ADV", name="DNA Advantage")
    classic = ProductFactory(sku="ASA-PAK-50", name="ASA 50 users", classic=True)
    today = timezone.localdate()
    EntitlementFactory(virtual_account=acme.root, product=smart, quantity=5)
    EntitlementFactory(virtual_account=acme.root, product=smart, quantity=5, starts_on=today - datetime.timedelta(days=10),
                       ends_on=today + datetime.timedelta(days=365))
    EntitlementFactory(virtual_account=acme.us, product=smart, quantity=4)
    EntitlementFactory(virtual_account=acme.us, product=other, quantity=1)
    device = DeviceFactory(virtual_account=acme.us, serial_number="FTX0001")
    services.device_report_usage(device=device, usage=[{"sku": smart.sku, "count": 2}])
    return SimpleNamespace(
        acme=acme, ada=acme.admin, staff=staff, smart=smart, other=other, classic=classic, device=device,
        token=RegistrationTokenFactory(virtual_account=acme.us), pak=ClassicLicenseFactory(
            smart_account=acme.account, product=classic, quantity=3),
    )


def pool(va, product) -> int:
    return Entitlement.objects.filter(virtual_account=va, product=product).aggregate(n=Sum("quantity"))["n"] or 0


# --- the catalogue ----------------------------------------------------------------------------------

skus = st.one_of(
    st.sampled_from(["NEW-1", "new-1", " New-1 ", "isr-sec-k9", "A" * 60, "A" * 61, "N E W", "ÄBC", "NEW\x00",
                     "", " ", "-LEADING", "A.B/C+D=E_F", "١٢٣"]),
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._/+=-]{0,20}\Z"),
    st.text(max_size=20),
)
term_months = st.one_of(st.none(), st.just(""), quantities)


@PROPERTY_SETTINGS
@given(name=names, family=names)
def test_product_names_and_families_are_stored_normalised(world, name, family):
    with rolled_back():
        product = outcome(
            lambda: services.product_create(sku="NEW-1", name=name, family=family, license_kind="smart", actor=world.staff),
            fields={"name", "family"}, models=(Product,),
        )
        assert (product is not None) == (
            0 < len(normalised(name)) <= 200 and is_clean(normalised(name))
            and 0 < len(normalised(family)) <= 100 and is_clean(normalised(family))
        )
        if product is not None:
            product = Product.objects.get(pk=product.pk)
            assert (product.name, product.family) == (normalised(name), normalised(family))


@PROPERTY_SETTINGS
@given(sku=skus, months=term_months)
def test_product_skus_and_terms(world, sku, months):
    with rolled_back():
        product = outcome(
            lambda: services.product_create(sku=sku, name="New", family="Routing", license_kind="smart",
                                            term_months=months, actor=world.staff),
            fields={"sku", "term_months"}, models=(Product,),
        )
        clean_sku = normalise_sku(sku)
        sku_ok = len(clean_sku) <= 60 and bool(SKU_PATTERN.match(clean_sku)) and clean_sku != "ISR-SEC-K9"
        if not sku_ok:
            assert product is None
        if product is not None:
            product = Product.objects.get(pk=product.pk)
            assert product.sku == clean_sku
            assert product.term_months is None or 1 <= product.term_months <= 120
            assert product.term_months == (None if months in (None, "") else as_whole(months))


# --- tokens and devices -------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(description=texts, expires=st.one_of(st.none(), quantities), max_uses=st.one_of(st.none(), quantities))
def test_token_create(world, description, expires, max_uses):
    with rolled_back():
        made = outcome(
            lambda: services.token_create(virtual_account=world.acme.us, description=description,
                                          expires_in_days=expires, max_uses=max_uses, actor=world.ada),
            fields={"description", "expires_in_days", "max_uses"}, models=DEVICE_ROWS,
        )
        expected = (
            len(normalised(description)) <= 200 and is_clean(normalised(description))
            and (expires in (None, "") or whole(expires, 1, 365))
            and (max_uses in (None, "") or whole(max_uses, 1, MAX_COUNT))
        )
        assert (made is not None) == expected
        if made is not None:
            token = RegistrationToken.objects.get(pk=made[0].pk)
            assert token.description == normalised(description)
            days_ = TOKEN_DEFAULT_DAYS if expires in (None, "") else as_whole(expires)
            assert abs((token.expires_at - timezone.now()) - datetime.timedelta(days=days_)) < datetime.timedelta(minutes=1)


@PROPERTY_SETTINGS
@given(serial=names, product_id=names, hostname=names)
def test_device_register_stores_clean_identifiers(world, serial, product_id, hostname):
    with rolled_back():
        made = outcome(
            lambda: services.device_register(token=world.token.token, serial_number=serial, product_id=product_id,
                                             hostname=hostname),
            fields={"serial_number", "product_id", "hostname"}, models=DEVICE_ROWS,
        )
        expected = (
            0 < len(normalised(serial)) <= 100 and is_clean(normalised(serial))
            and len(product_id.strip()) <= 100 and is_clean(product_id.strip())
            and len(hostname.strip()) <= 253 and is_clean(hostname.strip())
        )
        assert (made is not None) == expected
        if made is not None:
            device, secret, created = made
            device = Device.objects.get(pk=device.pk)
            assert device.serial_number == normalised(serial)
            assert created == (normalised(serial) != "FTX0001")
            assert services.device_authenticate(device_id=device.pk, secret=secret) == device


usage_items = st.lists(
    st.fixed_dictionaries({
        "sku": st.sampled_from(["ISR-SEC-K9", "isr-sec-k9 ", "DNA-ADV", "ASA-PAK-50", "NOPE", "", "\x00"]),
        "count": quantities,
    }),
    max_size=4,
)


@PROPERTY_SETTINGS
@given(usage=st.one_of(usage_items, st.sampled_from([None, "ISR-SEC-K9", {"sku": "ISR-SEC-K9", "count": 1}, [1, 2]])))
def test_usage_report_replaces_the_devices_usage_exactly(world, usage):
    device = world.device
    with rolled_back():
        result = outcome(lambda: services.device_report_usage(device=device, usage=usage),
                         fields={"usage", "device"}, models=(DeviceUsage, Shortage, Event))
        if result is None:
            assert dict(DeviceUsage.objects.filter(device=device).values_list("product__sku", "count")) == {"ISR-SEC-K9": 2}
            return
        reported = {normalise_sku(item["sku"]): item["count"] for item in usage}
        assert all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= MAX_COUNT for c in reported.values())
        stored = dict(DeviceUsage.objects.filter(device=device, count__gt=0).values_list("product__sku", "count"))
        assert stored == {sku: count for sku, count in reported.items() if count > 0}
        # The answer is the pool's standing: 4 in US for ISR-SEC-K9, 1 for DNA-ADV.
        purchased = {"ISR-SEC-K9": pool(world.acme.us, world.smart), "DNA-ADV": pool(world.acme.us, world.other)}
        for sku, status in result:
            assert status == ("shortage" if reported[sku] > purchased[sku] else "in_compliance")


# --- pools: transfers and deposits ------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(
    lines=st.lists(st.fixed_dictionaries({"sku": st.sampled_from(["ISR-SEC-K9", "isr-sec-k9", "DNA-ADV", "ASA-PAK-50", "X", "NUL\x00"]),
                                          "quantity": quantities}), max_size=3),
    direction=st.booleans(),
)
def test_license_transfer_conserves_licenses(world, lines, direction):
    acme = world.acme
    source, target = (acme.root, acme.europe) if direction else (acme.us, acme.finance)
    products = [world.smart, world.other]
    before = {(va.pk, p.pk): pool(va, p) for va in (source, target) for p in products}
    with rolled_back():
        moved = outcome(
            lambda: services.license_transfer(from_virtual_account=source, to_virtual_account=target, lines=lines,
                                              actor=world.ada),
            fields={"lines", "from_virtual_account", "to_virtual_account",
                    *(f"lines.{index}.{field}" for index in range(3) for field in ("sku", "quantity", "non_field_errors"))},
            models=POOL_ROWS,
        )
        after = {(va.pk, p.pk): pool(va, p) for va in (source, target) for p in products}
        if moved is None:
            assert after == before
            return
        for product in products:
            wanted = sum(as_whole(line["quantity"]) for line in lines if normalise_sku(line["sku"]) == product.sku)
            assert after[(source.pk, product.pk)] == before[(source.pk, product.pk)] - wanted
            assert after[(target.pk, product.pk)] == before[(target.pk, product.pk)] + wanted
            # Never more than was available (purchased minus the US device's 2 in use).
            in_use = 2 if (source == acme.us and product == world.smart) else 0
            assert wanted <= before[(source.pk, product.pk)] - in_use


@PROPERTY_SETTINGS
@given(quantity=quantities, starts_on=st.one_of(st.none(), days, moments), ends_on=st.one_of(st.none(), days, moments))
def test_entitlement_deposit_checks_quantity_and_dates(world, quantity, starts_on, ends_on):
    va = world.acme.finance
    with rolled_back():
        entitlement = outcome(
            lambda: services.entitlement_deposit(virtual_account=va, product=world.smart, quantity=quantity,
                                                 source=EntitlementSource.MANUAL, starts_on=starts_on, ends_on=ends_on),
            fields={"quantity", "starts_on", "ends_on"}, models=POOL_ROWS,
        )
        if entitlement is not None:
            entitlement = Entitlement.objects.get(pk=entitlement.pk)
            assert whole(quantity, 1, 2**31 - 1) and entitlement.quantity == as_whole(quantity)
            assert pool(va, world.smart) == entitlement.quantity
            for given_day, stored in ((starts_on, entitlement.starts_on), (ends_on, entitlement.ends_on)):
                assert stored is None if given_day is None else isinstance(stored, datetime.date)
            if entitlement.starts_on and entitlement.ends_on:
                assert entitlement.starts_on <= entitlement.ends_on


# --- PAKs and alerts ----------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(serial=names)
def test_classic_license_register_takes_a_clean_serial(world, serial):
    with rolled_back():
        key = outcome(lambda: services.classic_license_register(pak=world.pak, serial_number=serial, actor=world.ada),
                      fields={"serial_number"}, models=(Event,))
        assert (key is not None) == (0 < len(normalised(serial)) <= 100 and is_clean(normalised(serial)))
        pak = ClassicLicense.objects.get(pk=world.pak.pk)
        assert pak.device_serial == (normalised(serial) if key else "")
        if key is not None:
            assert services.classic_license_verify(key)["serial_number"] == normalised(serial)


@PROPERTY_SETTINGS
@given(data=st.data(), windows=st.one_of(st.lists(quantities, max_size=6), st.text(max_size=12), quantities))
def test_alert_preferences_windows_and_recipients(world, data, windows):
    recipients = data.draw(st.one_of(st.lists(emails(["ops@example.com", "OPS@example.com "]), max_size=3),
                                     st.text(max_size=20)))
    account = world.acme.account
    with rolled_back():
        preferences = outcome(
            lambda: services.alert_preferences_update(smart_account=account, actor=world.ada, expiry_windows=windows,
                                                      extra_recipients=recipients),
            fields={"expiry_windows", "extra_recipients"}, models=(AlertPreferences, Event),
        )
        if preferences is not None:
            preferences = AlertPreferences.objects.get(smart_account=account)
            assert 1 <= len(preferences.expiry_windows) <= 5
            assert all(1 <= day <= 365 for day in preferences.expiry_windows)
            assert preferences.expiry_windows == sorted(set(preferences.expiry_windows), reverse=True)
            assert all(len(email) <= 254 and email.endswith("@example.com") and email == email.strip().lower()
                       for email in preferences.extra_recipients)


# --- reports over a period ------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(start=days, end=days)
def test_reconciliation_and_usage_series_take_any_period(world, start, end):
    vas = world.acme.account.virtual_accounts.all()
    for report in (selectors.reconciliation, selectors.usage_series):
        result = outcome(lambda: report(vas, start=start, end=end), fields={"start", "end"}, models=())
        if result is None:
            assert (end - start).days > selectors.PERIOD_MAX_DAYS or end < start
