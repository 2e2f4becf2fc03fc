"""Registration tokens (flow 10): `token_create` and `token_revoke`."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Event
from licensing.models import RegistrationToken, TokenStatus
from licensing.services import token_create, token_revoke

from ..factories import HoldingAccountFactory, RegistrationTokenFactory, SmartAccountFactory

pytestmark = pytest.mark.django_db


def test_a_token_is_kept_hashed_and_shown_once(acme):
    token, raw = token_create(virtual_account=acme.us, description="Branch routers", actor=acme.sa_user)

    assert raw.startswith("slrt_") and len(raw) > 40
    assert token.token_hash == RegistrationToken.hash(raw) and raw not in token.token_hash
    assert token.prefix == raw[:12]
    assert not RegistrationToken.objects.filter(token_hash=raw).exists()
    event = Event.objects.get(action="token.created")
    assert (event.virtual_account, event.actor, event.detail["description"]) == (acme.us, acme.sa_user, "Branch routers")
    assert raw not in str(event.detail)


def test_a_token_expires_after_30_days_by_default(acme):
    token, _ = token_create(virtual_account=acme.us, actor=acme.admin)

    assert abs(token.expires_at - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(minutes=1)
    assert token.max_uses is None and token.status == TokenStatus.ACTIVE


@pytest.mark.parametrize("days_", [0, 366, -1, "soon", 1.5])
def test_a_token_expires_in_1_to_365_days(acme, days_):
    with pytest.raises(ValidationError) as exc:
        token_create(virtual_account=acme.us, expires_in_days=days_, actor=acme.admin)
    assert "expires_in_days" in exc.value.message_dict


@pytest.mark.parametrize("uses", [0, -3, "many"])
def test_max_uses_is_at_least_one(acme, uses):
    with pytest.raises(ValidationError) as exc:
        token_create(virtual_account=acme.us, max_uses=uses, actor=acme.admin)
    assert "max_uses" in exc.value.message_dict


def test_users_up_create_tokens_viewers_do_not(acme):
    token_create(virtual_account=acme.finance, actor=acme.va_user)  # US and below
    for actor, va in ((acme.va_user, acme.europe), (acme.sa_viewer, acme.us), (acme.va_viewer, acme.us), (acme.outsider, acme.us)):
        with pytest.raises(PermissionDenied):
            token_create(virtual_account=va, actor=actor)
    assert RegistrationToken.objects.count() == 1


def test_a_holding_account_has_no_tokens():
    holding = HoldingAccountFactory()

    with pytest.raises(ValidationError) as exc:
        token_create(virtual_account=holding.default_virtual_account, actor=None)
    assert "holding account" in exc.value.message_dict["virtual_account"][0]


def test_an_account_not_active_has_no_new_tokens():
    account = SmartAccountFactory(new=True)

    with pytest.raises(ValidationError):
        token_create(virtual_account=account.default_virtual_account, actor=None)


def test_revoking_a_token_records_it_once(acme):
    token = RegistrationTokenFactory(virtual_account=acme.us)

    token_revoke(token=token, actor=acme.va_user)
    with pytest.raises(ValidationError):
        token_revoke(token=token, actor=acme.va_user)

    token.refresh_from_db()
    assert token.status == TokenStatus.REVOKED
    assert Event.objects.filter(action="token.revoked").count() == 1


def test_viewers_may_not_revoke_tokens(acme):
    token = RegistrationTokenFactory(virtual_account=acme.us)

    with pytest.raises(PermissionDenied):
        token_revoke(token=token, actor=acme.va_viewer)
    assert RegistrationToken.objects.get(pk=token.pk).revoked_at is None


def test_token_status_revoked_then_expired_then_used_up(acme):
    past = timezone.now() - datetime.timedelta(seconds=1)
    assert RegistrationTokenFactory(virtual_account=acme.us, max_uses=2, use_count=2).status == TokenStatus.USED_UP
    assert RegistrationTokenFactory(virtual_account=acme.us, expires_at=past, max_uses=1, use_count=1).status == TokenStatus.EXPIRED
    assert RegistrationTokenFactory(virtual_account=acme.us, expires_at=past, revoked_at=past).status == TokenStatus.REVOKED
