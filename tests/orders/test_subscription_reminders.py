"""Reminders before a subscription ends (flow 7): by default 90, 30 and 7 days before, each
once; each account chooses its own windows, whether it wants them at all and who else gets them
in its alert preferences (a held line follows the holding account's)."""
import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Notification
from licensing.services import alert_preferences_update
from orders import services, tasks

from ..factories import (
    AlertPreferencesFactory,
    HoldingMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    UserFactory,
)
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
    monkeypatch.setattr(services.reminders.timezone, "localdate", lambda: ENDS_ON - datetime.timedelta(days=7))

    assert tasks.subscription_expiry_reminders.delay().get() == 1
    assert tasks.subscription_expiry_reminders.delay().get() == 0
    assert kinds() == ["subscription.ending.7"]


# --- the account's alert preferences ------------------------------------------------------------


def days_before(days: int) -> datetime.date:
    return ENDS_ON - datetime.timedelta(days=days)


def test_an_account_that_chose_60_days_is_reminded_at_60_days_and_not_at_30_or_7(place, world, subscription_product):
    alert_preferences_update(smart_account=world.globex, expiry_windows=[60], actor=world.gina)
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)

    assert services.subscription_reminders_queue(today=days_before(90)) == 0
    assert services.subscription_reminders_queue(today=days_before(61)) == 0
    assert services.subscription_reminders_queue(today=days_before(60)) == 1
    assert services.subscription_reminders_queue(today=days_before(30)) == 0
    assert services.subscription_reminders_queue(today=days_before(7)) == 0

    assert kinds() == ["subscription.ending.60"]


def test_an_account_that_chose_a_window_wider_than_the_defaults_is_reminded_that_early(place, world, subscription_product):
    alert_preferences_update(smart_account=world.globex, expiry_windows=[120, 14], actor=world.gina)
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)

    assert services.subscription_reminders_queue(today=days_before(120)) == 1
    assert services.subscription_reminders_queue(today=days_before(30)) == 0
    assert services.subscription_reminders_queue(today=days_before(14)) == 1

    assert kinds() == ["subscription.ending.120", "subscription.ending.14"]


def test_an_account_with_expiring_subscriptions_off_gets_no_reminder(place, world, subscription_product):
    alert_preferences_update(smart_account=world.globex, expiring_subscriptions=False, actor=world.gina)
    shipped_subscription(place, world, subscription_product, smart_account=world.globex)

    for days in (90, 30, 7, 1):
        assert services.subscription_reminders_queue(today=days_before(days)) == 0
    assert kinds() == []


def test_the_extra_recipients_of_the_account_get_the_reminder_too(place, world, subscription_product, mailoutbox,
                                                                   django_capture_on_commit_callbacks):
    alert_preferences_update(smart_account=world.globex, extra_recipients=["noc@globex.example"], actor=world.gina)
    line = shipped_subscription(place, world, subscription_product, smart_account=world.globex)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.subscription_reminders_queue(today=days_before(30)) == 2

    assert sorted(email.to[0] for email in mailoutbox) == ["gina@globex.example", "noc@globex.example"]
    assert {email.subject for email in mailoutbox} == {f"DNA-ADV-1Y subscription ends in 30 days (order {line.order.number})"}


def test_a_held_line_follows_the_holding_accounts_preferences_not_the_defaults(place, world, subscription_product):
    AlertPreferencesFactory(smart_account=world.holding, expiry_windows=[45], extra_recipients=["ops@resale.example"])
    shipped_subscription(place, world, subscription_product, smart_account=world.holding)

    assert services.subscription_reminders_queue(today=days_before(90)) == 0
    assert services.subscription_reminders_queue(today=days_before(45)) == 2
    assert services.subscription_reminders_queue(today=days_before(30)) == 0

    assert sorted(Notification.objects.filter(kind__startswith="subscription.ending").values_list("kind", "recipient")) == [
        ("subscription.ending.45", "ops@resale.example"), ("subscription.ending.45", "rita@resale.example"),
    ]


def test_a_held_line_gets_no_reminder_when_the_holding_account_turned_them_off(place, world, subscription_product):
    AlertPreferencesFactory(smart_account=world.holding, expiring_subscriptions=False)
    # Globex turned them off too, which does not matter for a line that is still held.
    shipped_subscription(place, world, subscription_product, smart_account=world.holding)

    assert services.subscription_reminders_queue(today=days_before(7)) == 0


def _subscriptions_in_many_accounts(world, place, product, count: int) -> None:
    """`count` more subscription lines: every third one held in Resale Holding (which chose its
    windows and has two notified members), each other one in a customer account of its own (an
    admin, alert preferences with its windows and an extra recipient)."""
    lines = []
    for _ in range(count):
        if len(lines) % 3 == 1:
            lines.append({"product": product, "quantity": 1, "smart_account": world.holding})
            continue
        sa = SmartAccountFactory()
        SmartAccountRoleFactory(user=UserFactory(email=f"admin@{sa.domain}"), content_object=sa, role="sa_admin")
        AlertPreferencesFactory(smart_account=sa, expiry_windows=[90, 30], extra_recipients=[f"noc@{sa.domain}"])
        lines.append({"product": product, "quantity": 1, "smart_account": sa})
    services.order_ship(order=place(lines), actor=world.staff, shipped_on=SHIP_DAY)


def _reminder_run_queries() -> tuple[int, int]:
    """A reminder run 30 days before the end that owes every line its reminder afresh: (emails
    owed, queries)."""
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        owed = services.subscription_reminders_queue(today=days_before(30))
    return owed, len(queries)


def test_reminders_take_as_many_queries_for_20_lines_in_14_accounts_as_for_2_lines(world, place, subscription_product):
    AlertPreferencesFactory(smart_account=world.holding, expiry_windows=[60, 30])
    HoldingMembershipFactory(smart_account=world.holding, user=world.rosa, notify=True)

    _subscriptions_in_many_accounts(world, place, subscription_product, 2)
    owed_for_2, queries_for_2 = _reminder_run_queries()
    _subscriptions_in_many_accounts(world, place, subscription_product, 18)
    owed_for_20, queries_for_20 = _reminder_run_queries()

    # Each line owes two reminders: its admin and extra recipient, or Resale Holding's rita and rosa.
    assert (owed_for_2, owed_for_20) == (4, 40)
    assert queries_for_20 == queries_for_2
