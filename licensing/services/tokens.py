"""Registration tokens (flow 10): created for a Virtual Account, shown once, revoked. A device
spends a use of one when it registers (`devices.device_register`)."""
from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import EventAction, User, VirtualAccount
from accounts.permissions import OPERATE
from accounts.services import event_record
from accounts.validators import refuse_control_characters

from ..models import RegistrationToken
from ._checks import MAX_COUNT, check_pool_account, clean_quantity, require
from .pools import account_hold

TOKEN_PREFIX = "slrt_"
TOKEN_DEFAULT_DAYS = 30
TOKEN_MAX_DAYS = 365


@transaction.atomic
def token_create(
    *,
    virtual_account: VirtualAccount,
    description: str = "",
    expires_in_days: int = TOKEN_DEFAULT_DAYS,
    max_uses: int | None = None,
    actor: User | None,
) -> tuple[RegistrationToken, str]:
    """A registration token for devices of this Virtual Account. Returns the token and its raw
    secret, which is shown once: only its hash is kept."""
    va = virtual_account
    require(actor, OPERATE, va, f"You may not create registration tokens in {va.name}.")
    check_pool_account(va, field="virtual_account", doing="register")
    errors: dict[str, list[str]] = {}
    description = " ".join(str(description or "").split())
    if len(description) > 200:
        errors["description"] = ["A description has at most 200 characters."]
    else:
        try:
            refuse_control_characters(description, field="description")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    days = expires_in_days
    try:
        days = _whole_number(
            TOKEN_DEFAULT_DAYS if expires_in_days in (None, "") else expires_in_days,
            field="expires_in_days", label="The expiry in days", low=1, high=TOKEN_MAX_DAYS,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    uses = None
    if max_uses not in (None, ""):
        try:
            uses = _whole_number(max_uses, field="max_uses", label="The maximum number of uses", low=1, high=MAX_COUNT)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    # Under the account's lock (package lock order), on the VA as it is now: a VA deleted
    # meanwhile is a 404, and the actor's right is read again (a revocation waits for this).
    va = account_hold(virtual_accounts=[va], acting=actor is not None).get(va.pk)
    if va is None:
        raise Http404("No Virtual Account found.")
    require(actor, OPERATE, va, f"You may not create registration tokens in {va.name}.")
    check_pool_account(va, field="virtual_account", doing="register")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = RegistrationToken.objects.create(
        virtual_account=va, description=description, prefix=raw[:12], token_hash=RegistrationToken.hash(raw),
        created_by=actor if actor is not None and actor.pk else None,
        expires_at=timezone.now() + datetime.timedelta(days=days), max_uses=uses,
    )
    event_record(
        smart_account=va.smart_account, action=EventAction.TOKEN_CREATED, actor=actor, virtual_account=va, obj=token,
        detail={"prefix": token.prefix, "description": description, "expires_at": token.expires_at.isoformat(),
                "max_uses": uses},
    )
    return token, raw


def _whole_number(value, *, field: str, label: str, low: int, high: int) -> int:
    number = clean_quantity(value)
    if number is None or not low <= number <= high:
        raise ValidationError({field: f"{label} is a whole number from {low} to {high}."})
    return number


@transaction.atomic
def token_revoke(*, token: RegistrationToken, actor: User | None) -> RegistrationToken:
    """Revoke a token: no device registers with it any more (registered devices stay)."""
    require(actor, OPERATE, token.virtual_account, "You may not revoke registration tokens here.")
    # Locked in the package's order (account, VA, then the token's row by the update below);
    # the right is read again under the lock, the token again after it (gone with its VA: 404).
    va = account_hold(virtual_accounts=[token.virtual_account_id], acting=actor is not None).get(token.virtual_account_id)
    if va is None or not RegistrationToken.objects.filter(pk=token.pk).exists():
        raise Http404("No registration token found.")
    require(actor, OPERATE, va, "You may not revoke registration tokens here.")
    token.virtual_account = va
    now = timezone.now()
    if not RegistrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        raise ValidationError({"token": "This token was revoked already."})
    token.revoked_at = now
    event_record(
        smart_account=token.virtual_account.smart_account, action=EventAction.TOKEN_REVOKED, actor=actor,
        virtual_account=token.virtual_account, obj=token, detail={"prefix": token.prefix, "use_count": token.use_count},
    )
    return token
