"""Argument cleaners and guards that several service modules share. Internal to the package:
import them from here; `licensing.services` re-exports only MAX_COUNT."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts import permissions
from accounts.models import User, VirtualAccount
from accounts.validators import refuse_control_characters

MAX_COUNT = 1_000_000  # the largest count taken: a token's uses, a device's usage of one product


def clean_text(value, *, field: str, label: str, max_length: int) -> str:
    """A required one-line text: whitespace runs collapsed, no control characters."""
    text = " ".join(str(value or "").split())
    if not text:
        raise ValidationError({field: f"{label} is required."})
    if len(text) > max_length:
        raise ValidationError({field: f"{label} has at most {max_length} characters."})
    return refuse_control_characters(text, field=field)


def clean_quantity(value) -> int | None:
    """A whole number given as an int or digits, else None (a bool is not a number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def require(actor: User | None, capability, obj, message: str) -> None:
    """`permissions.require`, except for the system (actor None), which is not checked."""
    if actor is not None:
        permissions.require(actor, capability, obj, message)


def check_pool_account(va: VirtualAccount, *, field: str, doing: str) -> None:
    """Devices register only into an active customer account (a holding account's licenses are never consumed)."""
    sa = va.smart_account
    if sa.is_holding:
        raise ValidationError({field: f"Licenses in a holding account cannot be consumed: devices cannot {doing} there."})
    if not sa.is_active:
        raise ValidationError({field: f"{sa.name} is {sa.get_status_display().lower()}; devices cannot {doing} there."})
