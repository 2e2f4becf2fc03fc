"""Argument cleaners and guards that several service modules share. Internal to the package:
import them from here."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from .. import permissions
from ..models import User, normalise_domain
from ..validators import clean_email, refuse_control_characters


def _require(actor: User | None, capability, obj) -> None:
    if actor is not None:
        permissions.require(actor, capability, obj, f"You may not {capability.value} here.")


def _user_by_email(email: str, *, field: str = "email") -> User:
    email = clean_email(email, field=field)
    user = User.objects.filter(email__iexact=email, is_active=True, closed_at__isnull=True).first()
    if user is None:
        raise ValidationError({field: f"No registered user has the email address {email}."})
    return user


def _clean_name(name: str, *, field: str = "name", max_length: int = 100) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({field: "A name is required."})
    if len(name) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    return refuse_control_characters(name, field=field)


def _clean_text(text: str | None, *, field: str, max_length: int) -> str:
    """Free text (a description, a message): at most `max_length` characters kept, no control characters."""
    return refuse_control_characters((text or "")[:max_length], field=field)


def _clean_domain(domain: str, *, field: str = "domain") -> str:
    domain = normalise_domain(domain)
    labels = domain.split(".")
    valid = (
        len(domain) <= 253
        and len(labels) >= 2
        and all(0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii() for label in labels)
        and not any(label.startswith("-") or label.endswith("-") for label in labels)
    )
    if not valid:
        raise ValidationError({field: "Enter a domain such as acme.com."})
    return domain


def _require_verified(actor: User) -> None:
    permissions.require_verified(actor)
