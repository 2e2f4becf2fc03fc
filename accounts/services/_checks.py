"""Argument cleaners and guards that several service modules share. Internal to the package:
import them from here."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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


T = TypeVar("T")


def violates(exc: IntegrityError, *constraints: str) -> bool:
    """Whether `exc` is the database refusing one of `constraints` (PostgreSQL names it in the
    diagnostics; SQLite only in the message, as the constraint's name or `table.column`)."""
    named = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    return named in constraints if named else any(c in str(exc) for c in constraints)


def guard_unique(write: Callable[[], T], *, constraints: tuple[str, ...], taken: ValidationError) -> T:
    """Run `write` (an insert or update) in a savepoint. A check before it cannot see a twin written at the same
    moment by another transaction; the unique constraint does, and this answers what the check
    would have said (`taken`) instead of a 500. The caller's transaction stays usable."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        if violates(exc, *constraints):
            raise taken from exc
        raise
