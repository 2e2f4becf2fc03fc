"""Devices (flow 10): registering with a token (or re-registering with the device's secret),
authenticating, moving between Virtual Accounts and removing. Their usage reports: `usage`."""
from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import EventAction, User, VirtualAccount
from accounts.permissions import OPERATE
from accounts.services import event_record
from accounts.validators import refuse_control_characters

from ..models import Device, DeviceUsage, Product, RegistrationToken, TokenStatus
from ._checks import check_pool_account, clean_text, require
from .compliance import compliance_update
from .pools import account_hold, pool_lock

DEVICE_SECRET_PREFIX = "sld_"


# --- registration -------------------------------------------------------------------------


@transaction.atomic
def device_register(
    *, token: str = "", serial_number: str, product_id: str = "", hostname: str = "", device_secret: str = ""
) -> tuple[Device, str, bool]:
    """A device registers into the token's Virtual Account. Returns (device, raw secret,
    created). The device authenticates its usage reports with the secret; only its hash is kept.

    The token must be active (not expired, revoked or used up); holding accounts (and accounts
    not active) take no devices. Every registration uses the token once, a re-registration too:
    registering a serial number already registered in the token's VA (a device that lost its
    secret, e.g. after a reset) returns the same device with its secret rotated (the old one stops
    working) and its hostname and product id updated, and records `device.reregistered`. A token
    that could not register a new device re-registers nothing: else any old token of the account
    could take a device over (lock the real one out, and zero its usage with the new secret).

    A device that still holds its current secret re-registers with it instead of a token: send
    `device_secret` (and its serial number) and no `token`. No token use is counted; the secret is
    rotated and the event recorded all the same. One of `token` and `device_secret` is required.

    Concurrency: a token use is claimed by a conditional UPDATE (`use_count < max_uses`), so
    concurrent registrations and re-registrations never exceed `max_uses`. Re-registrations of one
    device queue on its row lock (a device's secret works once: the next one finds it rotated).
    Of two first registrations of one serial at once, one creates the device; the other meets the
    unique constraint (IntegrityError) and becomes a re-registration, which claims its own use.
    Locks follow the package's order: the device (re-registration), then the account and the
    token's VA (KEY SHARE, `account_hold`: no tree write, so no VA delete and its cascade to
    the token, runs meanwhile), then the token's row (the claim). A token gone with its VA
    before the hold was granted is "Unknown registration token." (400), never a 500.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    for name, clean in (
        ("serial_number", lambda: clean_text(serial_number, field="serial_number", label="A serial number", max_length=100)),
        ("product_id", lambda: _clean_optional(product_id, field="product_id", label="A product id", max_length=100)),
        ("hostname", lambda: _clean_optional(hostname, field="hostname", label="A hostname", max_length=253)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    raw_token = str(token or "").strip()
    raw_secret = str(device_secret or "").strip()
    row = None
    if raw_token and raw_secret:
        errors["device_secret"] = ["Send a registration token or the device's current secret, not both."]
    elif not raw_token and not raw_secret:
        errors["token"] = ["A registration token is required (or, to register again, the device's current secret)."]
    elif raw_token:
        row = (
            RegistrationToken.objects.select_related("virtual_account__smart_account")
            .filter(token_hash=RegistrationToken.hash(raw_token))
            .first()
        )
        if row is None:
            errors["token"] = ["Unknown registration token."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    serial = cleaned["serial_number"]
    secret = DEVICE_SECRET_PREFIX + secrets.token_urlsafe(32)

    if row is None:
        device = (
            Device.objects.select_for_update().select_related("virtual_account__smart_account")
            .filter(secret_hash=Device.hash(raw_secret), serial_number=serial).first()
        )
        if device is None:  # unknown, rotated already, or another device's: no hint which
            raise ValidationError({"device_secret": "This is not the current secret of a device with this serial number."})
        account_hold(virtual_accounts=[device.virtual_account_id])  # the device holds its VA (PROTECT)
        check_pool_account(device.virtual_account, field="device_secret", doing="register")
        return _device_reregister(device, secret=secret, cleaned=cleaned, token=None, now=now), secret, False

    device = Device.objects.select_for_update().filter(
        virtual_account_id=row.virtual_account_id, serial_number=serial
    ).first()
    va = account_hold(virtual_accounts=[row.virtual_account_id]).get(row.virtual_account_id)
    row = _token_fresh(row.pk) if va is not None else None
    if row is None:  # deleted with its Virtual Account while this waited
        raise ValidationError({"token": "Unknown registration token."})
    if row.status_at(now) in (TokenStatus.REVOKED, TokenStatus.EXPIRED):
        raise _token_refusal(row, now)
    row.virtual_account = va
    check_pool_account(va, field="token", doing="register")

    if device is None:
        try:
            with transaction.atomic():
                _token_use_claim(row, now)
                device = Device.objects.create(
                    virtual_account=va, serial_number=serial, product_id=cleaned["product_id"],
                    hostname=cleaned["hostname"], secret_hash=Device.hash(secret), registered_with=row,
                    last_contact_at=now,
                )
        except IntegrityError:
            # The same serial registered at the same moment: theirs won (and this savepoint's
            # claim is undone); this is a re-registration, which claims a use of its own below.
            # (A device locked after the account: this holds only KEY SHARE locks, which no
            # device holder waits for.)
            device = Device.objects.select_for_update().filter(virtual_account=va, serial_number=serial).first()
            if device is None:  # registered and removed again meanwhile
                raise ValidationError({"serial_number": "This device was registered and removed meanwhile; try again."})
        else:
            event_record(
                smart_account=va.smart_account, action=EventAction.DEVICE_REGISTERED, virtual_account=va, obj=device,
                detail={"serial_number": serial, "hostname": device.hostname, "product_id": device.product_id,
                        "token": row.prefix},
            )
            return device, secret, True

    _token_use_claim(row, now)
    return _device_reregister(device, secret=secret, cleaned=cleaned, token=row, now=now), secret, False


def _clean_optional(value, *, field: str, label: str, max_length: int) -> str:
    text = str(value or "").strip()
    if len(text) > max_length:
        raise ValidationError({field: f"{label} has at most {max_length} characters."})
    return refuse_control_characters(text, field=field)


def _token_use_claim(token: RegistrationToken, now: datetime.datetime) -> None:
    """Count one use of the token, or refuse it (revoked, expired or used up meanwhile): one
    conditional UPDATE, so that concurrent claims never exceed `max_uses`."""
    claimed = (
        RegistrationToken.objects.filter(pk=token.pk, revoked_at__isnull=True, expires_at__gt=now)
        .filter(Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses")))
        .update(use_count=F("use_count") + 1)
    )
    if not claimed:
        fresh = _token_fresh(token.pk)
        if fresh is None:
            raise ValidationError({"token": "Unknown registration token."})
        raise _token_refusal(fresh, now)


def _token_fresh(token_id: int) -> RegistrationToken | None:
    return RegistrationToken.objects.filter(pk=token_id).first()


def _token_refusal(token: RegistrationToken, now: datetime.datetime) -> ValidationError:
    status = token.status_at(now)
    message = {
        TokenStatus.REVOKED: "This registration token was revoked.",
        TokenStatus.EXPIRED: "This registration token has expired.",
        TokenStatus.USED_UP: "This registration token has been used as many times as it allows.",
    }.get(status, "This registration token cannot be used.")
    return ValidationError({"token": message})


def _device_reregister(
    device: Device, *, secret: str, cleaned: dict[str, str], token: RegistrationToken | None, now: datetime.datetime
) -> Device:
    """Rotate a (locked) device's secret and take its new identifiers; the event tells its admins
    (`token`: the token used, None when the device sent its current secret)."""
    device.secret_hash = Device.hash(secret)
    device.hostname = cleaned["hostname"] or device.hostname
    device.product_id = cleaned["product_id"] or device.product_id
    device.last_contact_at = now
    device.save(update_fields=["secret_hash", "hostname", "product_id", "last_contact_at"])
    va = device.virtual_account
    event_record(
        smart_account=va.smart_account, action=EventAction.DEVICE_REREGISTERED, virtual_account=va, obj=device,
        detail={"serial_number": device.serial_number, "hostname": device.hostname, "product_id": device.product_id,
                "token": token.prefix if token is not None else None},
    )
    return device


def device_authenticate(*, device_id, secret: str) -> Device | None:
    """The device with this id whose secret this is, else None (no hint which one was wrong)."""
    if not secret:
        return None
    try:
        return Device.objects.filter(pk=int(device_id), secret_hash=Device.hash(secret)).first()
    except (TypeError, ValueError):
        return None


# --- moves and removals -------------------------------------------------------------------


@transaction.atomic
def device_move(*, device: Device, virtual_account: VirtualAccount, actor: User | None) -> Device:
    """Move a device to another Virtual Account of the same Smart Account: its usage moves from
    one pool to the other (either may cross into or out of shortage)."""
    locked = _lock_device(device)
    if locked.virtual_account_id == virtual_account.pk:
        raise ValidationError({"virtual_account": f"The device is in {virtual_account.name} already."})
    # The actor's right is checked on the locked rows: a revocation waits for this, or is seen.
    pools = pool_lock([locked.virtual_account_id, virtual_account.pk], acting=actor is not None)
    source, target = pools[locked.virtual_account_id], pools.get(virtual_account.pk)
    if target is None:
        raise ValidationError({"virtual_account": "That Virtual Account no longer exists."})
    require(actor, OPERATE, source, f"You may not move devices out of {source.name}.")
    require(actor, OPERATE, target, f"You may not move devices into {target.name}.")
    if target.smart_account_id != source.smart_account_id:
        raise ValidationError({"virtual_account": "Devices move only between Virtual Accounts of one Smart Account."})
    if target.smart_account.is_holding:
        raise ValidationError({"virtual_account": "Licenses in a holding account cannot be consumed: devices cannot move there."})
    if Device.objects.filter(virtual_account=target, serial_number=locked.serial_number).exists():
        raise ValidationError({"virtual_account": f"{target.name} already has a device with serial number {locked.serial_number}."})
    usage = _device_usage(locked)
    locked.virtual_account = target
    locked.save(update_fields=["virtual_account"])
    if usage:
        products = list(Product.objects.filter(pk__in=list(usage)))
        cause = f"device {locked.serial_number} moved from {source.name} to {target.name}"
        compliance_update(virtual_account=source, products=products, actor=actor, cause=cause)
        compliance_update(virtual_account=target, products=products, actor=actor, cause=cause)
    event_record(
        smart_account=source.smart_account, action=EventAction.DEVICE_MOVED, actor=actor, virtual_account=target, obj=locked,
        detail={"serial_number": locked.serial_number, "from": source.name, "from_virtual_account": source.pk,
                "to": target.name, "to_virtual_account": target.pk},
    )
    return locked


@transaction.atomic
def device_remove(*, device: Device, actor: User | None) -> None:
    """Remove a device: its usage is freed from its pool (which may leave shortage)."""
    locked = _lock_device(device)
    va = pool_lock([locked.virtual_account_id], acting=actor is not None)[locked.virtual_account_id]
    require(actor, OPERATE, va, f"You may not remove devices from {va.name}.")
    usage = _device_usage(locked)
    products = list(Product.objects.filter(pk__in=list(usage))) if usage else []
    detail = {"serial_number": locked.serial_number, "hostname": locked.hostname, "product_id": locked.product_id,
              "usage": [{"sku": p.sku, "count": usage[p.pk]} for p in products]}
    event_record(smart_account=va.smart_account, action=EventAction.DEVICE_REMOVED, actor=actor, virtual_account=va, obj=locked,
                 detail=detail)
    serial = locked.serial_number
    locked.delete()
    if products:
        compliance_update(virtual_account=va, products=products, actor=actor, cause=f"device {serial} removed")


def _lock_device(device: Device) -> Device:
    locked = Device.objects.select_for_update(of=("self",)).select_related("virtual_account__smart_account").filter(
        pk=device.pk
    ).first()
    if locked is None:
        raise ValidationError({"device": "This device is no longer registered."})
    return locked


def _device_usage(device: Device) -> dict[int, int]:
    return dict(DeviceUsage.objects.filter(device=device, count__gt=0).values_list("product_id", "count"))
