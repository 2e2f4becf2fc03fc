"""Alerts to an account's admins: the account's alert preferences, who gets each kind of alert,
and the daily alerts (devices fallen silent, the daily summary). The shortage alerts are sent
by `compliance`, to the recipients chosen here."""
from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts import permissions
from accounts.models import EventAction, SmartAccount, SmartAccountKind, User, VirtualAccount, email_domain
from accounts.permissions import ADMINISTER
from accounts.selectors import sa_admin_emails
from accounts.services import event_record, notification_queue

from .. import selectors
from ..models import AlertPreferences, Device
from ._checks import clean_quantity
from .pools import account_hold

ALERT_FLAGS = ("insufficient_licenses", "silent_devices", "expiring_subscriptions", "holding_lines_waiting", "daily_summary")


# --- alert preferences --------------------------------------------------------------------


@transaction.atomic
def alert_preferences_update(*, smart_account: SmartAccount, actor: User | None, **changes) -> AlertPreferences:
    """Change which alerts an account's admins get (SA admins): the flags of ALERT_FLAGS,
    `expiry_windows` (1 to 5 distinct days before a subscription ends, 1–365) and
    `extra_recipients` (at most 20 addresses within the account's domain)."""
    if actor is not None and not permissions.can(actor, ADMINISTER, smart_account):
        raise permissions.refusal(actor, "Only the account's admins change its alerts.")
    unknown = set(changes) - set(ALERT_FLAGS) - {"expiry_windows", "extra_recipients"}
    if unknown:
        raise ValidationError({name: "Unknown setting." for name in sorted(unknown)})
    # The package's lock order (the account, then its rows); the right again, under the lock.
    account_hold(smart_accounts=[smart_account], acting=actor is not None)
    if actor is not None and not permissions.can(actor, ADMINISTER, smart_account):
        raise permissions.refusal(actor, "Only the account's admins change its alerts.")
    preferences = AlertPreferences.objects.select_for_update().filter(smart_account=smart_account).first() or AlertPreferences(
        smart_account=smart_account
    )
    errors: dict[str, list[str]] = {}
    for flag in ALERT_FLAGS:
        if flag in changes:
            if not isinstance(changes[flag], bool):
                errors[flag] = ["Choose true or false."]
            else:
                setattr(preferences, flag, changes[flag])
    if "expiry_windows" in changes:
        try:
            preferences.expiry_windows = _clean_windows(changes["expiry_windows"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "extra_recipients" in changes:
        try:
            preferences.extra_recipients = _clean_recipients(changes["extra_recipients"], smart_account)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    preferences.updated_by = actor if actor is not None and actor.pk else None
    preferences.save()
    event_record(
        smart_account=smart_account, action=EventAction.ALERTS_UPDATED, actor=actor, obj=preferences,
        detail={**{flag: getattr(preferences, flag) for flag in ALERT_FLAGS}, "expiry_windows": preferences.expiry_windows,
                "extra_recipients": preferences.extra_recipients},
    )
    return preferences


def _clean_windows(value) -> list[int]:
    if isinstance(value, str):
        value = [part for part in value.replace(" ", ",").split(",") if part]
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 5:
        raise ValidationError({"expiry_windows": "Give 1 to 5 numbers of days, e.g. 90, 30, 7."})
    windows = set()
    for item in value:
        number = clean_quantity(item)
        if number is None or not 1 <= number <= 365:
            raise ValidationError({"expiry_windows": "Each window is a whole number of days from 1 to 365."})
        windows.add(number)
    return sorted(windows, reverse=True)


def _clean_recipients(value, smart_account: SmartAccount) -> list[str]:
    if isinstance(value, str):
        value = [part for part in value.replace(";", ",").replace("\n", ",").split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise ValidationError({"extra_recipients": "Give a list of email addresses."})
    emails = sorted({str(item).strip().lower() for item in value if str(item).strip()})
    if len(emails) > 20:
        raise ValidationError({"extra_recipients": "At most 20 extra recipients."})
    problems = []
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"{email} is not an email address.")
            continue
        if email_domain(email) != smart_account.domain:
            problems.append(f"{email} is not within the account's domain {smart_account.domain}.")
    if problems:
        raise ValidationError({"extra_recipients": problems})
    return emails


# --- who gets an alert --------------------------------------------------------------------


def alert_recipients(smart_account: SmartAccount, alert: str) -> list[str]:
    """Who gets an alert of this kind (a boolean field of AlertPreferences): the account's SA
    admins and its extra recipients, unless the account turned the alert off."""
    preferences = selectors.alert_preferences(smart_account)
    if not getattr(preferences, alert):
        return []
    return sorted(set(_admin_emails(smart_account)) | set(preferences.extra_recipients or []))


def _admin_emails(smart_account: SmartAccount) -> list[str]:
    return sa_admin_emails(smart_account)


def account_url(smart_account: SmartAccount) -> str:
    """The account's page, linked from its alert emails (shortages, daily alerts)."""
    return f"{settings.SITE_URL}/sa/{smart_account.pk}/"


# --- daily alerts: devices fallen silent, the daily summary -------------------------------


def alerts_daily_queue(*, day: datetime.date | None = None) -> int:
    """Owe the day's alert emails (run daily, after midnight; safe to run again: each email is
    owed once per account and day through the outbox):

    - `silent_devices`: to accounts with that alert on, the devices that fell silent (30 days
      without a report) on the day before `day`;
    - `daily_summary`: to accounts that asked for it, their shortages, silent devices and
      subscriptions ending within 30 days, when there is any of these to report.

    Returns the number of emails owed."""
    day = day or timezone.localdate()
    owed = 0
    # Devices whose last contact was 31 days ago: silent since yesterday.
    contact_day = day - Device.SILENT_AFTER - datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(contact_day, datetime.time.min))
    fallen = (
        Device.objects.filter(
            last_contact_at__gte=start, last_contact_at__lt=start + datetime.timedelta(days=1),
            virtual_account__smart_account__kind=SmartAccountKind.CUSTOMER,
        )
        .select_related("virtual_account__smart_account")
        .order_by("virtual_account__smart_account_id", "serial_number")
    )
    by_account: dict[int, list[Device]] = defaultdict(list)
    for device in fallen:
        by_account[device.virtual_account.smart_account_id].append(device)
    for devices in by_account.values():
        sa = devices[0].virtual_account.smart_account
        with transaction.atomic():
            owed += len(notification_queue(
                kind="silent_devices", about=f"licensing.silent_devices:{sa.pk}:{day.isoformat()}",
                recipients=alert_recipients(sa, "silent_devices"), template="silent_devices",
                context={"smart_account": sa, "devices": devices, "days": Device.SILENT_AFTER.days,
                         "account_url": account_url(sa)},
            ))

    for preferences in AlertPreferences.objects.filter(
        daily_summary=True, smart_account__kind=SmartAccountKind.CUSTOMER
    ).select_related("smart_account"):
        sa = preferences.smart_account
        scope = VirtualAccount.objects.filter(smart_account=sa)
        shortages = list(selectors.open_shortages(scope))
        silent = selectors.silent_devices(scope).count()
        ending = list(selectors.subscriptions_ending(scope, within_days=30, on=day)[:50])
        if not (shortages or silent or ending):
            continue
        with transaction.atomic():
            owed += len(notification_queue(
                kind="daily_summary", about=f"licensing.daily_summary:{sa.pk}:{day.isoformat()}",
                recipients=alert_recipients(sa, "daily_summary"), template="daily_summary",
                context={"smart_account": sa, "day": day, "shortages": shortages, "silent": silent, "ending": ending,
                         "account_url": account_url(sa)},
            ))
    return owed
