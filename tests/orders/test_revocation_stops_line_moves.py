"""A delegated line's contact whose role in the chosen account is revoked while the assignment
waits is refused: the move reads the right again once it holds the account's lock (the lock a
revocation takes). On a real PostgreSQL, with the revocation holding the account row so that
the window is certain (SQLite serialises every write)."""
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Event, EventAction, HoldingMembership, Role, SmartAccountRole
from accounts.services import holding_member_remove, role_revoke
from orders import services
from orders.models import OrderLine, OrderLineState

from ..concurrency import run_at_once
from ..factories import SmartAccountRoleFactory, UserFactory
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_a_delegated_line_assigned_while_the_contacts_role_is_revoked_is_refused(place, world, smart_product):
    contact = UserFactory(email="it@globex.example")
    role = SmartAccountRoleFactory(user=contact, content_object=world.globex, role=Role.SA_USER)
    role = SmartAccountRole.objects.get(pk=role.pk)
    line = place([{"product": smart_product, "quantity": 2, "delegate_to_end_customer": True}]).lines.get()
    revoked = threading.Event()

    def revoke():
        with transaction.atomic():
            role_revoke(role=role, actor=world.gina)
            revoked.set()
            time.sleep(1.0)  # the assignment starts meanwhile: the role is still visible to it

    def assign():
        assert revoked.wait(10)
        return services.order_line_assign_delegated(lines=[line.pk], smart_account=world.globex, actor=contact)

    _, outcome = run_at_once(revoke, assign, timeout=30)

    assert isinstance(outcome, ValidationError), outcome
    assert list(outcome.message_dict) == ["smart_account"]
    assert OrderLine.objects.get(pk=line.pk).smart_account is None
    assert not Event.objects.filter(actor=contact).exists()


def test_a_held_line_moved_while_its_movers_membership_is_removed_is_refused(place, world, smart_product):
    order = place([{"product": smart_product, "quantity": 3, "smart_account": world.holding}])
    [line] = services.order_ship(order=order, actor=world.staff)
    membership = HoldingMembership.objects.get(smart_account=world.holding, user=world.ralf)
    removed = threading.Event()

    def remove():
        with transaction.atomic():
            holding_member_remove(membership=membership, actor=world.ralf)
            removed.set()
            time.sleep(1.0)  # the move starts meanwhile: the membership is still visible to it

    def move():
        assert removed.wait(10)
        return services.order_line_move_from_holding(lines=[line.pk], smart_account=world.globex, actor=world.ralf)

    _, outcome = run_at_once(remove, move, timeout=30)

    assert isinstance(outcome, PermissionDenied), outcome
    assert "not a member of the holding account Resale Holding" in str(outcome)
    assert OrderLine.objects.get(pk=line.pk).state == OrderLineState.HELD
    assert not Event.objects.filter(actor=world.ralf, action=EventAction.LICENSES_DEPOSITED).exists()
