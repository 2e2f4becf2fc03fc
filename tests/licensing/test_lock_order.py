"""The lock order of the services (`licensing.services`' docstring): deleting a Virtual Account
while devices register, tokens are created, licenses are transferred and devices are moved into
it ends in a success or a clean refusal for each, never a deadlock or a 500. On a real
PostgreSQL (SQLite serialises every write, so the race does not arise there)."""
import random
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from accounts.models import SmartAccount, VirtualAccount
from accounts.services import virtual_account_create, virtual_account_delete, virtual_account_rename
from licensing.models import Device, Entitlement, RegistrationToken
from licensing.services import device_move, device_register, license_transfer, token_create

from ..concurrency import run_at_once
from ..factories import DeviceFactory, EntitlementFactory, RegistrationTokenFactory
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

# What a race may answer besides success: the API's 400, 404 and 403. Anything else (a deadlock
# or serialization OperationalError, an IntegrityError, a DoesNotExist) would be a 500.
CLEAN_REFUSALS = (ValidationError, Http404, PermissionDenied)


def _jittered(rng: random.Random, job):
    delay = rng.uniform(0, 0.03)

    def run():
        time.sleep(delay)
        return job()
    return run


def test_deleting_a_virtual_account_while_devices_register_tokens_are_made_and_licenses_and_devices_move_in_never_deadlocks(
    acme, product
):
    rng = random.Random(21)
    for round_ in range(6):
        doomed = virtual_account_create(parent=acme.root, name=f"Doomed {round_}", actor=acme.admin)
        token = RegistrationTokenFactory(virtual_account=doomed)
        EntitlementFactory(virtual_account=acme.europe, product=product, quantity=2)
        mover = DeviceFactory(virtual_account=acme.europe)
        jobs = {
            "delete": lambda: virtual_account_delete(virtual_account=doomed, actor=acme.admin),
            **{f"register {n}": (lambda n=n: device_register(token=token.token, serial_number=f"R{round_}-{n}"))
               for n in range(5)},
            **{f"token {n}": (lambda: token_create(virtual_account=doomed, actor=acme.admin)) for n in range(3)},
            "transfer": lambda: license_transfer(
                from_virtual_account=acme.europe, to_virtual_account=doomed, lines=[(product, 1)], actor=acme.admin),
            "move": lambda: device_move(device=mover, virtual_account=doomed, actor=acme.admin),
        }

        outcomes = dict(zip(jobs, run_at_once(*(_jittered(rng, job) for job in jobs.values()), timeout=60)))

        unclean = {
            name: repr(o) for name, o in outcomes.items() if isinstance(o, Exception) and not isinstance(o, CLEAN_REFUSALS)
        }
        assert not unclean, f"round {round_}: {unclean}"
        deleted = not VirtualAccount.objects.filter(pk=doomed.pk).exists()
        assert deleted == (outcomes["delete"] is None), outcomes["delete"]
        moved_in = [name for name in ("transfer", "move") if not isinstance(outcomes[name], Exception)]
        registered = [name for name in outcomes if name.startswith("register") and not isinstance(outcomes[name], Exception)]
        if deleted:
            # Whatever went in first kept the VA; what came after found it gone.
            assert not moved_in and not registered, outcomes
        else:
            assert Device.objects.filter(virtual_account=doomed).count() == len(registered) + ("move" in moved_in)
            assert Entitlement.objects.filter(virtual_account=doomed).exists() == ("transfer" in moved_in)


def _tree_locked_then_delete(va, actor, locked: threading.Event, seconds: float = 1.0):
    """virtual_account_delete, its tree lock taken `seconds` before the rest of it runs: whatever
    starts meanwhile meets the lock (the account row) and the delete that follows."""
    def delete():
        with transaction.atomic():
            SmartAccount.objects.select_for_update().get(pk=va.smart_account_id)  # as virtual_accounts._lock_tree
            locked.set()
            time.sleep(seconds)
            return virtual_account_delete(virtual_account=VirtualAccount.objects.get(pk=va.pk), actor=actor)
    return delete


def _after(event: threading.Event, job):
    def run():
        assert event.wait(10)
        time.sleep(0.1)
        return job()
    return run


def test_a_registration_meeting_the_delete_of_its_tokens_virtual_account_is_an_unknown_token(acme):
    doomed = virtual_account_create(parent=acme.root, name="Doomed", actor=acme.admin)
    token = RegistrationTokenFactory(virtual_account=doomed)
    locked = threading.Event()

    deleted, registered = run_at_once(
        _tree_locked_then_delete(doomed, acme.admin, locked),
        _after(locked, lambda: device_register(token=token.token, serial_number="FTX-LATE")),
        timeout=30,
    )

    assert deleted is None
    assert isinstance(registered, ValidationError), registered
    assert registered.message_dict == {"token": ["Unknown registration token."]}
    assert not VirtualAccount.objects.filter(pk=doomed.pk).exists()
    assert not RegistrationToken.objects.filter(pk=token.pk).exists() and not Device.objects.exists()


def test_a_token_created_while_its_virtual_account_is_deleted_is_a_404(acme):
    doomed = virtual_account_create(parent=acme.root, name="Doomed", actor=acme.admin)
    locked = threading.Event()

    deleted, created = run_at_once(
        _tree_locked_then_delete(doomed, acme.admin, locked),
        _after(locked, lambda: token_create(virtual_account=doomed, actor=acme.admin)),
        timeout=30,
    )

    assert deleted is None
    assert isinstance(created, Http404), created
    assert not VirtualAccount.objects.filter(pk=doomed.pk).exists()
    assert not RegistrationToken.objects.exists()


@pytest.mark.parametrize("write", ["transfer", "move"])
def test_licenses_or_a_device_moved_into_a_virtual_account_being_deleted_are_refused_on_the_field(acme, product, write):
    doomed = virtual_account_create(parent=acme.root, name="Doomed", actor=acme.admin)
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=2)
    mover = DeviceFactory(virtual_account=acme.europe)
    job = {
        "transfer": lambda: license_transfer(
            from_virtual_account=acme.europe, to_virtual_account=doomed, lines=[(product, 1)], actor=acme.admin),
        "move": lambda: device_move(device=mover, virtual_account=doomed, actor=acme.admin),
    }[write]
    locked = threading.Event()

    deleted, outcome = run_at_once(_tree_locked_then_delete(doomed, acme.admin, locked), _after(locked, job), timeout=30)

    assert deleted is None
    assert isinstance(outcome, ValidationError), outcome
    field = "to_virtual_account" if write == "transfer" else "virtual_account"
    assert outcome.message_dict == {field: ["That Virtual Account no longer exists."]}


def test_a_virtual_account_deleted_while_a_tree_write_waits_for_it_is_a_404(acme):
    # The rename meets the delete's tree lock, then finds its VA gone: a 404, not a DoesNotExist.
    doomed = virtual_account_create(parent=acme.root, name="Doomed", actor=acme.admin)
    locked = threading.Event()

    deleted, renamed = run_at_once(
        _tree_locked_then_delete(doomed, acme.admin, locked),
        _after(locked, lambda: virtual_account_rename(virtual_account=doomed, name="Saved", actor=acme.admin)),
        timeout=30,
    )

    assert deleted is None
    assert isinstance(renamed, Http404), renamed
