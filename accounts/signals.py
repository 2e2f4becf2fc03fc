"""Announcements from accounts to the apps above it (which connect in their AppConfig.ready)."""
from django.dispatch import Signal

# Sent inside the activating transaction: smart_account, actor.
smart_account_activated = Signal()
