"""Sixteen people move the same held line at the same moment, on a real PostgreSQL (SQLite
serialises every write, so the question does not arise there): it is deposited once."""
import pytest
from django.core.exceptions import ValidationError

from accounts.models import SmartAccount, User
from licensing.models import Entitlement
from orders import services
from orders.models import OrderLine, OrderLineState

from ..concurrency import run_many
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def test_sixteen_simultaneous_moves_of_one_held_line_deposit_it_once(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 9, "smart_account": world.holding}])
    [line] = services.order_ship(order=order, actor=world.staff)
    line_id, account_id, actor_id = line.pk, world.globex.pk, world.rita.pk

    def move():
        actor = User.objects.get(pk=actor_id)
        return services.order_line_move_to_account(
            lines=[line_id], smart_account=SmartAccount.objects.get(pk=account_id), actor=actor
        )

    outcomes = run_many(move, THREADS)

    moved = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(moved) == 1 and len(refused) == THREADS - 1, outcomes
    assert all("already provisioned in Globex" in str(exc) for exc in refused)
    entitlement = Entitlement.objects.get()
    assert (entitlement.quantity, entitlement.virtual_account_id) == (9, world.globex.default_virtual_account_id)
    line = OrderLine.objects.get(pk=line_id)
    assert line.state == OrderLineState.PROVISIONED and list(line.entitlements.all()) == [entitlement]
