"""`api_key_revoke`: its owner revokes a key (again: nothing happens); vendor staff revoke
anyone's key once, recorded in the event log of the accounts its owner works in; nobody else."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Event, EventAction
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return f.UserFactory(is_staff=True, is_superuser=True)


def test_staff_revoke_a_key_once_and_others_only_their_own(staff):
    key = f.ApiKeyFactory()
    f.HoldingMembershipFactory(user=key.user)

    with pytest.raises(PermissionDenied):
        services.api_key_revoke(key=key, actor=f.UserFactory())
    services.api_key_revoke(key=key, actor=staff)
    with pytest.raises(ValidationError, match="revoked already"):
        services.api_key_revoke(key=key, actor=staff)

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Event.objects.get().action == EventAction.API_KEY_REVOKED


def test_owners_revoking_their_own_key_again_is_a_no_op():
    key = f.ApiKeyFactory(revoked_at=timezone.now(), revoked_reason="Revoked by you.")
    services.api_key_revoke(key=key, actor=key.user)
    assert not Event.objects.exists()
