"""Shortages start and clear with whatever changes a pool: transfers, deposits, device moves
and removals, and time (subscriptions ending), each announced once."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Event, Notification
from licensing.models import Device, DeviceUsage, EntitlementSource, Shortage
from licensing.selectors import pool_position
from licensing.services import (
    compliance_reconcile,
    device_move,
    device_remove,
    device_report_usage,
    entitlement_deposit,
    license_transfer,
)

from ..factories import DeviceFactory, EntitlementFactory, SmartAccountFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


def compliance_events() -> list[tuple[str, str]]:
    return list(
        Event.objects.filter(action__startswith="compliance.").order_by("id").values_list("action", "virtual_account__name")
    )


def short_device(va, product, count):
    device = DeviceFactory(virtual_account=va)
    device_report_usage(device=device, usage=[{"sku": product.sku, "count": count}])
    return device


def test_a_transfer_from_a_sibling_clears_the_shortage(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    short_device(acme.us, product, 3)

    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 3)], actor=acme.admin)

    assert compliance_events() == [("compliance.shortage_started", "US"), ("compliance.shortage_cleared", "US")]
    cleared = Event.objects.get(action="compliance.shortage_cleared")
    assert cleared.actor == acme.admin and "transferred from Europe" in cleared.detail["cause"]
    assert not Shortage.objects.filter(cleared_at__isnull=True).exists()


def test_a_transfer_too_small_leaves_the_shortage_open(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    short_device(acme.us, product, 3)

    license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 2)], actor=acme.admin)

    assert compliance_events() == [("compliance.shortage_started", "US")]
    assert pool_position(acme.us, product).shortage == 1


def test_a_deposit_clears_the_shortage(acme, product):
    short_device(acme.us, product, 2)

    entitlement_deposit(virtual_account=acme.us, product=product, quantity=2, source=EntitlementSource.ORDER,
                        source_ref="SO-1 line 1")

    assert compliance_events() == [("compliance.shortage_started", "US"), ("compliance.shortage_cleared", "US")]


def test_moving_a_device_moves_its_shortage(acme, product):
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    device = short_device(acme.us, product, 2)

    device_move(device=device, virtual_account=acme.europe, actor=acme.sa_user)

    assert Device.objects.get(pk=device.pk).virtual_account == acme.europe
    assert pool_position(acme.europe, product).in_use == 2
    assert compliance_events() == [("compliance.shortage_started", "US"), ("compliance.shortage_cleared", "US")]
    moved = Event.objects.get(action="device.moved")
    assert (moved.detail["from"], moved.detail["to"], moved.actor) == ("US", "Europe", acme.sa_user)


def test_moving_a_device_into_a_small_pool_starts_a_shortage(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=5)
    device = short_device(acme.us, product, 2)

    device_move(device=device, virtual_account=acme.finance, actor=acme.va_user)

    assert compliance_events() == [("compliance.shortage_started", "Finance")]


def test_devices_move_only_within_their_smart_account_and_by_users_up(acme, product):
    device = DeviceFactory(virtual_account=acme.us)
    elsewhere = SmartAccountFactory().default_virtual_account

    with pytest.raises(ValidationError):
        device_move(device=device, virtual_account=elsewhere, actor=None)
    with pytest.raises(PermissionDenied):
        device_move(device=device, virtual_account=acme.europe, actor=acme.va_user)  # Europe is outside US
    with pytest.raises(PermissionDenied):
        device_move(device=device, virtual_account=acme.finance, actor=acme.sa_viewer)
    with pytest.raises(ValidationError):
        device_move(device=device, virtual_account=acme.us, actor=acme.admin)  # already there
    assert Device.objects.get(pk=device.pk).virtual_account == acme.us


def test_a_device_cannot_move_where_its_serial_is_taken(acme):
    DeviceFactory(virtual_account=acme.europe, serial_number="FTX1")
    device = DeviceFactory(virtual_account=acme.us, serial_number="FTX1")

    with pytest.raises(ValidationError) as exc:
        device_move(device=device, virtual_account=acme.europe, actor=acme.admin)
    assert "FTX1" in exc.value.message_dict["virtual_account"][0]


def test_removing_a_device_frees_its_usage(acme, product):
    EntitlementFactory(virtual_account=acme.us, product=product, quantity=1)
    device = short_device(acme.us, product, 3)

    device_remove(device=device, actor=acme.va_user)

    assert not Device.objects.filter(pk=device.pk).exists() and not DeviceUsage.objects.exists()
    assert pool_position(acme.us, product).in_use == 0
    assert compliance_events() == [("compliance.shortage_started", "US"), ("compliance.shortage_cleared", "US")]
    removed = Event.objects.get(action="device.removed")
    assert removed.detail["usage"] == [{"sku": "ISR-SEC-K9", "count": 3}] and removed.actor == acme.va_user


def test_viewers_may_not_remove_devices(acme):
    device = DeviceFactory(virtual_account=acme.us)

    with pytest.raises(PermissionDenied):
        device_remove(device=device, actor=acme.va_viewer)
    assert Device.objects.filter(pk=device.pk).exists()


def test_a_subscription_that_ended_starts_a_shortage_once(acme, subscription_product):
    product = subscription_product
    entitlement = EntitlementFactory(virtual_account=acme.us, product=product, quantity=5, starts_on=days(-365), ends_on=days(1))
    short_device(acme.us, product, 3)  # 5 purchased: fine
    # Time passes: the subscription ended yesterday.
    entitlement.ends_on = days(-1)
    entitlement.save()

    assert compliance_reconcile() == 1
    assert compliance_reconcile() == 0  # announced once

    assert compliance_events() == [("compliance.shortage_started", "US")]
    assert Event.objects.get(action="compliance.shortage_started").detail["cause"] == "subscription term"
    assert Notification.objects.filter(kind="insufficient_licenses").count() == 1


def test_reconcile_clears_a_shortage_that_a_starting_subscription_covers(acme, subscription_product):
    product = subscription_product
    entitlement = EntitlementFactory(virtual_account=acme.us, product=product, quantity=5, starts_on=days(1), ends_on=days(366))
    short_device(acme.us, product, 3)
    entitlement.starts_on = TODAY
    entitlement.save()

    assert compliance_reconcile() == 1
    assert compliance_events() == [("compliance.shortage_started", "US"), ("compliance.shortage_cleared", "US")]


def test_at_most_one_open_shortage_per_virtual_account_and_product(acme, product):
    from django.db import IntegrityError, transaction

    Shortage.objects.create(virtual_account=acme.us, product=product, started_at=timezone.now(), quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Shortage.objects.create(virtual_account=acme.us, product=product, started_at=timezone.now(), quantity=2)
