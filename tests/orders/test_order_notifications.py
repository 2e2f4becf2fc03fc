"""The emails orders owe: each is one outbox row, owed once, and the mailbox after shipping holds
exactly the expected emails (Celery runs eagerly in tests, the outbox sends on commit)."""
import pytest
from django.core.exceptions import ValidationError

from accounts.models import Notification, NotificationStatus
from orders import services

from .conftest import SHIP_DAY


def sent(mailoutbox) -> list[tuple[str, str]]:
    return sorted((email.to[0], email.subject) for email in mailoutbox)


def test_shipping_into_an_active_account_tells_its_admins_once_per_kind(
    place, world, smart_product, subscription_product, classic_product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place([
        {"product": smart_product, "quantity": 2, "smart_account": world.globex, "virtual_account": world.globex_finance},
        {"product": subscription_product, "quantity": 3, "smart_account": world.globex},
        {"product": classic_product, "quantity": 1, "smart_account": world.globex},
    ])

    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(order=order, actor=world.staff, shipped_on=SHIP_DAY)

    assert sent(mailoutbox) == [
        ("gina@globex.example", f"Licenses arrived in Globex (order {order.number})"),
        ("gina@globex.example", f"Subscription started: order {order.number}"),
    ]
    deposited = next(e for e in mailoutbox if e.subject.startswith("Licenses arrived"))
    assert "2 × ISR-SEC-K9" in deposited.body and "→ Globex / Finance" in deposited.body
    assert "3 × DNA-ADV-1Y" in deposited.body and "→ Globex / DEFAULT" in deposited.body
    assert "1 × ASA-PAK-50" in deposited.body and "a PAK in the License Registration part of Globex" in deposited.body
    assert f"/sa/{world.globex.pk}/" in deposited.body
    html = deposited.alternatives[0][0]
    assert order.number in html and "Finance" in html and "{{" not in html
    started = next(e for e in mailoutbox if e.subject.startswith("Subscription"))
    assert "31 Jan 2025 – 31 Jan 2026" in started.body
    assert Notification.objects.filter(status=NotificationStatus.SENT).count() == 2


def test_shipping_into_a_holding_account_tells_its_notified_members(
    place, world, smart_product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place([{"product": smart_product, "quantity": 2, "smart_account": world.holding}] * 2)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(order=order, actor=world.staff)

    # rita asked for the holding account's emails, ralf did not; both lines in one email.
    assert sent(mailoutbox) == [("rita@resale.example", f"Order {order.number} shipped into your holding account Resale Holding")]
    body = mailoutbox[0].body
    assert "Line 1: 2 × ISR-SEC-K9" in body and "Line 2: 2 × ISR-SEC-K9" in body
    assert f"/orders/{order.pk}/" in body and "held in the holding account Resale Holding" in body


def test_a_subscription_held_in_a_holding_account_tells_its_members_it_started(
    place, world, subscription_product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place([{"product": subscription_product, "quantity": 1, "smart_account": world.holding}])

    with django_capture_on_commit_callbacks(execute=True):
        services.order_ship(order=order, actor=world.staff)

    assert sent(mailoutbox) == [
        ("rita@resale.example", f"Order {order.number} shipped into your holding account Resale Holding"),
        ("rita@resale.example", f"Subscription started: order {order.number}"),
    ]


def test_moving_tells_the_customers_admins_that_licenses_arrived(
    place, world, smart_product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place([{"product": smart_product, "quantity": 2, "smart_account": world.holding}])
    [line] = services.order_ship(order=order, actor=world.staff)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.order_line_move_to_account(lines=[line], smart_account=world.globex, actor=world.rita)

    assert sent(mailoutbox) == [("gina@globex.example", f"Licenses arrived in Globex (order {order.number})")]
    assert "from Resale Co" in mailoutbox[0].body


def test_a_new_accounts_contact_is_told_when_its_licenses_arrive_on_activation(
    place, world, smart_product, mailoutbox, django_capture_on_commit_callbacks
):
    from accounts.services import smart_account_activate

    order = place([{"product": smart_product, "quantity": 2, "smart_account": world.initech}])
    services.order_ship(order=order, actor=world.staff)
    assert not Notification.objects.filter(kind="licenses.deposited").exists()

    with django_capture_on_commit_callbacks(execute=True):
        smart_account_activate(smart_account=world.initech, actor=world.ivan)

    assert ("ivan@initech.example", f"Licenses arrived in Initech (order {order.number})") in sent(mailoutbox)


def test_each_owed_email_is_one_outbox_row_and_running_again_owes_nothing(
    place, world, smart_product, subscription_product, mailoutbox, django_capture_on_commit_callbacks
):
    order = place([
        {"product": subscription_product, "quantity": 1, "smart_account": world.holding},
        {"product": smart_product, "quantity": 1, "smart_account": world.holding},
    ])
    with django_capture_on_commit_callbacks(execute=True):
        lines = services.order_ship(order=order, actor=world.staff)
        services.order_line_move_to_account(lines=lines, smart_account=world.globex, actor=world.rita)
    rows = list(Notification.objects.values_list("kind", "object_key", "recipient"))
    assert len(rows) == len(set(rows)) == 3  # fulfilled + started → rita; deposited → gina

    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ValidationError):
            services.order_ship(order=order, actor=world.staff)
        with pytest.raises(ValidationError):
            services.order_line_move_to_account(lines=lines, smart_account=world.globex, actor=world.rita)
        services.order_lines_provision_for_account(smart_account=world.globex, actor=None)

    assert Notification.objects.count() == 3
    assert len(mailoutbox) == 3


def test_owing_the_same_email_about_the_same_lines_twice_owes_it_once(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.holding}] * 2)
    lines = services.order_ship(order=order, actor=world.staff)
    before = Notification.objects.count()

    for _ in range(2):
        owed = services._Owed()
        for line in lines:
            owed.add(kind="order.fulfilled", template="order_fulfilled", line=line, recipients=["rita@resale.example"])
        owed.queue()

    assert Notification.objects.count() == before  # the shipment already owed exactly this email


def test_the_delegated_email_lists_a_link_per_line(place, world, smart_product, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = place([
            {"product": smart_product, "quantity": 1, "delegate_to_end_customer": True},
            {"product": smart_product, "quantity": 2, "smart_account": world.globex},
            {"product": smart_product, "quantity": 3},
        ])

    [email] = mailoutbox
    assert email.to == ["it@globex.example"]
    assert email.subject == f"Choose the Smart Account for your licenses (order {order.number})"
    assert email.body.count("/invite/") == 2
    assert "Line 1: 1 × ISR-SEC-K9" in email.body and "Line 3: 3 × ISR-SEC-K9" in email.body and "Line 2" not in email.body
    assert "Resale Co ordered licenses for you" in email.body
