"""A revoked role stops the work its user had in flight: every acting service reads the actor's
right again once it holds its locks, and a revocation locks the account row those services lock
(SHARE) with its role lock (NO KEY UPDATE). So a revocation either waits for work in flight, or
the work, getting its lock after the revocation, is refused (403) and records nothing. On a real
PostgreSQL, with a held lock so that the window is certain (SQLite serialises every write)."""
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.models import Event, EventAction, Role, SmartAccountRole
from accounts.services import (
    role_grant,
    role_revoke,
    virtual_account_create,
    virtual_account_delete,
    virtual_account_move,
    virtual_account_rename,
)
from licensing.selectors import pool_position
from licensing.services import (
    alert_preferences_update,
    classic_license_convert,
    classic_license_register,
    device_move,
    device_remove,
    license_transfer,
    pool_lock,
    token_create,
    token_revoke,
)

from ..concurrency import run_at_once
from ..factories import (
    ClassicLicenseFactory,
    DeviceFactory,
    EntitlementFactory,
    ProductFactory,
    RegistrationTokenFactory,
    UserFactory,
)
from ..markers import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _revoking(role, actor, revoked: threading.Event, seconds: float = 1.0):
    """role_revoke, its transaction kept open `seconds` after the revocation: the account row
    stays locked by the role lock meanwhile, and the revocation is not yet visible to others."""
    def revoke():
        with transaction.atomic():
            role_revoke(role=role, actor=actor)
            revoked.set()
            time.sleep(seconds)
    return revoke


def _after(event: threading.Event, job):
    def run():
        assert event.wait(10)
        return job()
    return run


def _operate_jobs(acme, product):
    """What an SA user may do, each as a job for `acme.sa_user`."""
    user = acme.sa_user
    smart = ProductFactory(sku="L-ASA-100")
    pak = ClassicLicenseFactory(
        smart_account=acme.account, product=ProductFactory(sku="ASA-PAK-100", classic=True, smart_equivalent=smart), quantity=3
    )
    device = DeviceFactory(virtual_account=acme.europe)
    token = RegistrationTokenFactory(virtual_account=acme.europe)
    return {
        "transfer": lambda: license_transfer(
            from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 4)], actor=user),
        "device move": lambda: device_move(device=device, virtual_account=acme.us, actor=user),
        "device remove": lambda: device_remove(device=device, actor=user),
        "token create": lambda: token_create(virtual_account=acme.europe, actor=user),
        "token revoke": lambda: token_revoke(token=token, actor=user),
        "PAK convert": lambda: classic_license_convert(pak=pak, virtual_account=acme.europe, actor=user),
        "PAK register": lambda: classic_license_register(pak=pak, serial_number="FTX1", actor=user),
    }


OPERATE_WRITES = ["transfer", "device move", "device remove", "token create", "token revoke", "PAK convert", "PAK register"]


@pytest.mark.parametrize("write", OPERATE_WRITES)
def test_work_that_waited_for_a_revocation_of_its_users_role_is_refused_and_records_nothing(acme, product, write):
    # The write starts while the revocation holds the account row, uncommitted: the right it
    # reads first is still there; it then waits for its lock, and reads the right again under it.
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    job = _operate_jobs(acme, product)[write]
    role = SmartAccountRole.objects.get(user=acme.sa_user, content_object=acme.account)
    revoked = threading.Event()

    _, outcome = run_at_once(_revoking(role, acme.admin, revoked), _after(revoked, job), timeout=30)

    assert isinstance(outcome, PermissionDenied), outcome
    assert not Event.objects.filter(actor=acme.sa_user).exists()
    assert pool_position(acme.europe, product).purchased == 10


@pytest.fixture
def second_admin(acme):
    user = UserFactory(email="bob@example.com")
    role_grant(smart_account=acme.account, email=user.email, role=Role.SA_ADMIN, actor=acme.admin)
    return user


ADMIN_WRITES = ["VA create", "VA rename", "VA move", "VA delete", "alert preferences"]


@pytest.mark.parametrize("write", ADMIN_WRITES)
def test_an_admins_write_that_waited_for_a_revocation_of_their_role_is_refused(acme, second_admin, write):
    spare = virtual_account_create(parent=acme.root, name="Spare", actor=acme.admin)
    job = {
        "VA create": lambda: virtual_account_create(parent=acme.root, name="Asia", actor=second_admin),
        "VA rename": lambda: virtual_account_rename(virtual_account=spare, name="Asia", actor=second_admin),
        "VA move": lambda: virtual_account_move(virtual_account=spare, parent=acme.us, actor=second_admin),
        "VA delete": lambda: virtual_account_delete(virtual_account=spare, actor=second_admin),
        "alert preferences": lambda: alert_preferences_update(
            smart_account=acme.account, actor=second_admin, daily_summary=False),
    }[write]
    role = SmartAccountRole.objects.get(user=second_admin, content_object=acme.account)
    revoked = threading.Event()

    _, outcome = run_at_once(_revoking(role, acme.admin, revoked), _after(revoked, job), timeout=30)

    assert isinstance(outcome, PermissionDenied), outcome
    assert not Event.objects.filter(actor=second_admin).exclude(action=EventAction.ROLE_GRANTED).exists()


def test_a_revocation_waits_for_a_transfer_that_holds_its_account_lock(acme, product):
    # A second connection holds the source pool; the transfer, past its first check, waits for
    # it holding the account row (SHARE). The revocation waits for the transfer: its event comes
    # after the transfer's, never a transfer by a user whose role was revoked before it.
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=10)
    role = SmartAccountRole.objects.get(user=acme.sa_user, content_object=acme.account)
    locked = threading.Event()

    def hold_pool():
        with transaction.atomic():
            pool_lock([acme.europe])
            locked.set()
            time.sleep(1.5)

    def transfer():
        assert locked.wait(10)
        return license_transfer(from_virtual_account=acme.europe, to_virtual_account=acme.us, lines=[(product, 4)],
                                actor=acme.sa_user)

    def revoke():
        assert locked.wait(10)
        time.sleep(0.5)  # the transfer is waiting for the pool by now
        started = time.monotonic()
        role_revoke(role=role, actor=acme.admin)
        return time.monotonic() - started

    _, transferred, took = run_at_once(hold_pool, transfer, revoke, timeout=30)

    assert isinstance(transferred, list), transferred
    assert took >= 0.5, f"the revocation did not wait for the transfer in flight ({took:.2f}s)"
    actions = list(Event.objects.filter(
        action__in=[EventAction.ROLE_REVOKED, EventAction.LICENSES_TRANSFERRED]).order_by("id").values_list("action", flat=True))
    assert actions == [EventAction.LICENSES_TRANSFERRED, EventAction.ROLE_REVOKED]
