"""The event log: `event_record` is the one place that writes an Event row (every app records
through it)."""
from __future__ import annotations

from django.db import models

from ..models import Event, SmartAccount, User, VirtualAccount


def event_record(
    *,
    smart_account: SmartAccount,
    action: str,
    actor: User | None = None,
    virtual_account: VirtualAccount | None = None,
    obj: models.Model | None = None,
    detail: dict | None = None,
) -> Event:
    """Append one row to the account's event log."""
    return Event.objects.create(
        smart_account=smart_account,
        virtual_account=virtual_account,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.email if actor is not None and actor.pk else "system",
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:300] if obj is not None else "",
        detail=detail or {},
    )
