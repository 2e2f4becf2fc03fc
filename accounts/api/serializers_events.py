"""API shapes of the event log: an event, and the filters of the log's query string."""
from __future__ import annotations

from rest_framework import serializers

from accounts.validators import validate_day_in_range


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    virtual_account = serializers.IntegerField(source="virtual_account_id", allow_null=True)
    virtual_account_name = serializers.CharField(source="virtual_account.name", allow_null=True, default=None)
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    detail = serializers.JSONField()


class EventFilterSerializer(serializers.Serializer):
    action = serializers.CharField(required=False, help_text='Exact, or a prefix ending in "." (e.g. `device.`).')
    virtual_account = serializers.IntegerField(required=False, help_text="That Virtual Account and its subtree.")
    actor = serializers.CharField(required=False, help_text='Email of the actor, or "system".')
    since = serializers.DateField(required=False, validators=[validate_day_in_range])
    until = serializers.DateField(required=False, validators=[validate_day_in_range])
