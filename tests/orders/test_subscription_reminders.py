"""Reminders before a subscription ends (flow 7): 90, 30 and 7 days before, each once."""
import datetime

from accounts.models import Notification
from orders import services, tasks

from .conftest import SHIP_DAY

ENDS_ON = datetime.date(2026, 1, 31)  # SHIP_DAY + 12 months


def kinds() -> list[str]:
    return sorted(Notification.objects.filter(kind__startswith="subscription.ending").values_list("kind", flat=True))


def shipped_subscription(place, world, product, **line):
    order = place([{"product": product, "quantity": 1, **line}])
    return services.order_ship(order=order, actor=world.staff, shipped_on=SHIP_DAY)[0]


def test_reminders_go_90_30_and_7_days_before_the_end_each_once(place, world, subscription_product):
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)

    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=91)) == 0
    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=90)) == 1
    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=89)) == 0
    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=30)) == 1
    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=30)) == 0
    assert services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=7)) == 1
    assert services.subscription_reminders_queue(today=ENDS_ON + datetime.timedelta(days=1)) == 0

    assert kinds() == ["subscription.ending.30", "subscription.ending.7", "subscription.ending.90"]
    assert set(Notification.objects.filter(kind__startswith="subscription.ending").values_list("recipient", flat=True)) == {
        "gina@globex.example"
    }


def test_a_subscription_first_seen_late_gets_only_the_nearest_reminder(place, world, subscription_product):
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)

    services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=5))

    assert kinds() == ["subscription.ending.7"]


def test_a_held_subscription_reminds_the_holding_accounts_members(place, world, subscription_product, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    line = shipped_subscription(place, world, subscription_product, smart_account=world.holding)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.subscription_reminders_queue(today=ENDS_ON - datetime.timedelta(days=30))

    [email] = mailoutbox
    assert email.to == ["rita@resale.example"]
    assert email.subject == f"DNA-ADV-1Y subscription ends in 30 days (order {line.order.number})"
    assert "still held in your holding account Resale Holding" in email.body


def test_perpetual_lines_get_no_reminder(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    services.order_ship(order=order, actor=world.staff, shipped_on=SHIP_DAY)

    assert services.subscription_reminders_queue(today=SHIP_DAY) == 0


def test_the_task_runs_the_service_and_a_rerun_sends_nothing_twice(place, world, subscription_product, monkeypatch):
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)
    monkeypatch.setattr(services.timezone, "localdate", lambda: ENDS_ON - datetime.timedelta(days=7))

    assert tasks.subscription_expiry_reminders.delay().get() == 1
    assert tasks.subscription_expiry_reminders.delay().get() == 0
    assert kinds() == ["subscription.ending.7"]
