"""`manage.py ship_orders`: ships booked lines through the service and says what happened."""
import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.services import smart_account_suspend
from licensing.models import Entitlement
from orders.models import Order, OrderLineState


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ship_orders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_ships_every_booked_line_and_counts_where_they_went(place, world, smart_product):
    place([{"product": smart_product, "quantity": 1, "smart_account": world.globex},
           {"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    place([{"product": smart_product, "quantity": 1, "smart_account": world.initech}])

    out, err = run()

    assert out.strip() == "Shipped 3 of 3 line(s) in 2 order(s): 1 awaiting_account, 1 held, 1 provisioned."
    assert err == ""
    assert Entitlement.objects.count() == 1
    assert run()[0].strip() == "Shipped 0 of 0 line(s) in 0 order(s)."  # nothing twice


def test_ships_one_order_or_the_orders_placed_before_a_day(place, world, smart_product):
    first = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    second = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])
    Order.objects.filter(pk=first.pk).update(placed_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc))

    assert "Shipped 1 of 1" in run("--before", "2025-01-02")[0]
    assert first.lines.get().state == OrderLineState.PROVISIONED
    assert second.lines.get().state == OrderLineState.BOOKED
    assert "Shipped 1 of 1" in run("--order", second.number.lower())[0]
    assert second.lines.get().state == OrderLineState.PROVISIONED


def test_a_line_that_cannot_ship_is_reported_and_the_others_ship(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex},
                   {"product": smart_product, "quantity": 1, "smart_account": world.holding}])
    smart_account_suspend(smart_account=world.globex, actor=None)

    out, err = run("--shipped-on", "2025-01-31")

    assert "Shipped 1 of 2 line(s) in 1 order(s): 1 held." in out
    assert f"Not shipped: {order.number} line 1 goes to Globex, which is suspended." in err
    assert order.lines.get(number=2).shipped_on == datetime.date(2025, 1, 31)


def test_dry_run_changes_nothing(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 1, "smart_account": world.globex}])

    assert run("--dry-run")[0].strip() == "1 line(s) of 1 order(s) would ship."
    assert order.lines.get().state == OrderLineState.BOOKED


def test_an_unknown_order_is_an_error(world):
    with pytest.raises(CommandError, match="No order SO-1"):
        run("--order", "SO-1")
