"""Thirty-two moves of the same held line at the same moment, by two members of its holding
account, on a real PostgreSQL (SQLite serialises every write, so the question does not arise
there): it is deposited once, and every other mover is told plainly why not."""
import pytest
from django.core.exceptions import ValidationError

from accounts.models import Event, Notification, SmartAccount, User
from licensing.models import Entitlement
from orders import services
from orders.models import OrderLine, OrderLineState

from ..concurrency import run_at_once
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

THREADS = 32


def test_32_simultaneous_moves_of_one_held_line_deposit_it_once(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 9, "smart_account": world.holding}])
    [line] = services.order_ship(order=order, actor=world.staff)
    line_id, account_id = line.pk, world.globex.pk
    owed_before = set(Notification.objects.values_list("pk", flat=True))

    def move_as(actor_id):
        def move():
            return services.order_line_move_to_account(
                lines=[line_id], smart_account=SmartAccount.objects.get(pk=account_id), actor=User.objects.get(pk=actor_id)
            )
        return move

    # Rita and Ralf, both members of the holding account, each press "move" sixteen times.
    outcomes = run_at_once(*(move_as(actor.pk) for actor in [world.rita, world.ralf] * (THREADS // 2)))

    moved = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(moved) == 1 and len(refused) == THREADS - 1, outcomes
    assert [line.pk for line in moved[0]] == [line_id]
    # A clear refusal, naming the line and why: never a lock timeout, a deadlock or an IntegrityError.
    assert {tuple(exc.failed_lines.items()) for exc in refused} == {((line_id, "already provisioned in Globex"),)}
    assert all(exc.message_dict["lines"] == [f"Line {line_id} ({line.reference}): already provisioned in Globex."]
               for exc in refused)

    # Deposited once: one entitlement of the whole quantity, in the account's default VA.
    entitlement = Entitlement.objects.get()
    assert (entitlement.product, entitlement.quantity, entitlement.virtual_account_id) == (
        smart_product, 9, world.globex.default_virtual_account_id)
    line = OrderLine.objects.get(pk=line_id)
    assert line.state == OrderLineState.PROVISIONED and list(line.entitlements.all()) == [entitlement]
    assert (line.smart_account_id, line.virtual_account_id) == (account_id, world.globex.default_virtual_account_id)
    # Recorded once on each side, and the customer's admin is owed one email.
    assert Event.objects.filter(action="order_line.moved", object_id=str(line_id)).count() == 2
    owed = Notification.objects.exclude(pk__in=owed_before)
    assert list(owed.values_list("kind", "recipient")) == [("licenses.deposited", "gina@globex.example")]
