"""The weekly digest of holding accounts: the lines waiting in each holding account go to its
members who asked for its emails, once per ISO week, however often the task runs."""
import datetime

import pytest
from django.conf import settings

from accounts.models import HoldingMembership, Notification
from orders import services
from orders.tasks import holding_accounts_weekly_digest

from ..factories import AlertPreferencesFactory, HoldingMembershipFactory

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(2025, 3, 10)  # ISO week 2025-W11
EARLY = datetime.date(2025, 1, 31)
RECENT = datetime.date(2025, 3, 3)


@pytest.fixture
def waiting(world, place, smart_product, subscription_product):
    """Resale Holding: a subscription held since 31 Jan (38 days on MONDAY), 2 licenses held since
    3 Mar; one more line shipped there and already moved to Globex."""
    old = place([{"product": subscription_product, "quantity": 5, "smart_account": world.holding}])
    services.order_ship(order=old, actor=world.staff, shipped_on=EARLY)
    recent = place([
        {"product": smart_product, "quantity": 2, "smart_account": world.holding},
        {"product": smart_product, "quantity": 9, "smart_account": world.holding},
    ])
    services.order_ship(order=recent, actor=world.staff, shipped_on=RECENT)
    services.order_line_move_to_account(lines=[recent.lines.get(number=2)], smart_account=world.globex, actor=world.rita)
    Notification.objects.all().delete()
    return old, recent


def digests(mailoutbox):
    return [m for m in mailoutbox if "waiting in your holding account" in m.subject]


def test_the_digest_lists_the_lines_waiting_oldest_first_to_the_notified_members(
    world, waiting, mailoutbox, django_capture_on_commit_callbacks
):
    old, recent = waiting
    with django_capture_on_commit_callbacks(execute=True):
        assert services.holding_digests_queue(today=MONDAY) == 1

    [digest] = digests(mailoutbox)
    # Rita asked for the holding account's emails; Ralf did not.
    assert digest.to == ["rita@resale.example"]
    assert digest.subject == "2 lines waiting in your holding account Resale Holding (2025-W11)"
    body = digest.body
    assert body.index(old.number) < body.index(recent.number)
    assert f"[over 30 days] {old.number} line 1: 5 × DNA-ADV-1Y" in body
    assert "subscription 31 Jan 2025 – 31 Jan 2026, 10% of its term gone" in body
    assert f"{recent.number} line 1: 2 × ISR-SEC-K9 (ISR Security) for Globex Corp" in body
    assert "waiting 7 days" in body
    assert f"{recent.number} line 2" not in body  # moved to Globex already
    assert "1 has waited more than 30 days" in body
    assert f"{settings.SITE_URL}/orders/holding/?holding_account={world.holding.pk}" in body
    html = digest.alternatives[0][0]
    assert old.number in html and "{{" not in html and "10% gone" in html


def test_the_digest_is_owed_once_per_week_however_often_it_runs(world, waiting, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert services.holding_digests_queue(today=MONDAY) == 1
        assert services.holding_digests_queue(today=MONDAY) == 0
        assert services.holding_digests_queue(today=MONDAY + datetime.timedelta(days=6)) == 0  # Sunday, same week
        assert services.holding_digests_queue(today=MONDAY + datetime.timedelta(days=7)) == 1  # the next week

    assert [m.subject[-10:] for m in digests(mailoutbox)] == ["(2025-W11)", "(2025-W12)"]
    keys = sorted(Notification.objects.filter(kind="holding.weekly_digest").values_list("object_key", flat=True))
    assert keys == [f"accounts.smartaccount:{world.holding.pk}/week:2025-W11",
                    f"accounts.smartaccount:{world.holding.pk}/week:2025-W12"]


def test_the_iso_week_decides_across_new_year():
    from ..factories import HoldingAccountFactory

    holding = HoldingAccountFactory()
    # 29 Dec 2025 and 4 Jan 2026 are in the same ISO week, 2026-W01.
    assert services.holding_digest_key(holding, datetime.date(2025, 12, 29)) == services.holding_digest_key(
        holding, datetime.date(2026, 1, 4)) == f"accounts.smartaccount:{holding.pk}/week:2026-W01"


def test_accounts_with_nothing_waiting_or_nobody_to_tell_get_no_digest(world, place, smart_product, mailoutbox):
    # Distri Holding holds a line, but Dora did not ask for its emails; Other Holding holds nothing.
    HoldingMembership.objects.filter(smart_account=world.distri_holding).update(notify=False)
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}], actor=world.dora)
    services.order_ship(order=order, actor=world.staff)
    Notification.objects.all().delete()

    assert services.holding_digests_queue(today=MONDAY) == 0

    HoldingMembershipFactory(smart_account=world.other_holding, user=world.rosa, notify=True)
    assert services.holding_digests_queue(today=MONDAY) == 0


def test_a_holding_account_that_turned_holding_lines_waiting_off_gets_no_digest(world, waiting, place, smart_product,
                                                                                 mailoutbox, django_capture_on_commit_callbacks):
    AlertPreferencesFactory(smart_account=world.holding, holding_lines_waiting=False)
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}], actor=world.dora)
    services.order_ship(order=order, actor=world.staff)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.holding_digests_queue(today=MONDAY) == 1

    assert [m.to[0] for m in digests(mailoutbox)] == ["dora@distri.example"]


def test_the_extra_recipients_of_a_holding_accounts_alert_preferences_get_its_digest_too(
    world, waiting, mailoutbox, django_capture_on_commit_callbacks,
):
    AlertPreferencesFactory(smart_account=world.holding, extra_recipients=["orders@resale.example"])

    with django_capture_on_commit_callbacks(execute=True):
        assert services.holding_digests_queue(today=MONDAY) == 2

    assert sorted(m.to[0] for m in digests(mailoutbox)) == ["orders@resale.example", "rita@resale.example"]


def test_each_holding_account_gets_its_own_digest(world, waiting, place, smart_product, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.distri_holding}], actor=world.dora)
    services.order_ship(order=order, actor=world.staff)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.holding_digests_queue(today=MONDAY) == 2

    assert sorted((m.to[0], m.subject) for m in digests(mailoutbox)) == [
        ("dora@distri.example", "1 line waiting in your holding account Distri Holding (2025-W11)"),
        ("rita@resale.example", "2 lines waiting in your holding account Resale Holding (2025-W11)"),
    ]


def test_the_task_owes_and_sends_the_digest_once(world, waiting, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert holding_accounts_weekly_digest.delay().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert holding_accounts_weekly_digest.delay().get() == 0

    assert len(digests(mailoutbox)) == 1


def test_beat_runs_the_digest_every_monday_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["holding-accounts-weekly-digest"]
    assert entry["task"] == holding_accounts_weekly_digest.name == "orders.tasks.holding_accounts_weekly_digest"
    schedule = entry["schedule"]
    assert (schedule.day_of_week, schedule.hour, schedule.minute) == ({1}, {7}, {0})
