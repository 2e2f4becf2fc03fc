"""Alert preferences: which alerts an account's admins get, and extra recipients within the
account's domain (`alert_preferences_update`, `alert_recipients`)."""
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Event, Notification
from licensing import tasks
from licensing.models import AlertPreferences, default_expiry_windows
from licensing.selectors import alert_preferences
from licensing.services import (
    alert_preferences_update,
    alert_recipients,
    alerts_daily_queue,
    device_report_usage,
)

from ..factories import DeviceFactory

pytestmark = pytest.mark.django_db


def test_the_default_expiry_windows_are_90_30_and_7_days_before_the_end():
    # DESIGN.md §4 flow 7: expiry reminders go out 90, 30 and 7 days before `ends_on`.
    assert default_expiry_windows() == [90, 30, 7]
    assert AlertPreferences().expiry_windows == [90, 30, 7]
    assert default_expiry_windows() is not default_expiry_windows()  # no list shared between accounts


def test_an_account_starts_with_the_default_alerts(acme):
    preferences = alert_preferences(acme.account)

    assert preferences.pk is None
    assert (preferences.insufficient_licenses, preferences.silent_devices, preferences.expiry_windows,
            preferences.daily_summary, preferences.extra_recipients) == (True, True, [90, 30, 7], False, [])
    assert alert_recipients(acme.account, "insufficient_licenses") == ["ada@example.com"]
    assert alert_recipients(acme.account, "daily_summary") == []


def test_sa_admins_change_alerts_and_add_recipients_within_the_domain(acme):
    alert_preferences_update(smart_account=acme.account, daily_summary=True, expiry_windows=[30, 60, 14, 30],
                             extra_recipients=["NOC@example.com", "noc@example.com"], actor=acme.admin)

    preferences = AlertPreferences.objects.get(smart_account=acme.account)
    assert (preferences.daily_summary, preferences.expiry_windows, preferences.extra_recipients) == (
        True, [60, 30, 14], ["noc@example.com"])
    assert alert_recipients(acme.account, "daily_summary") == ["ada@example.com", "noc@example.com"]
    assert Event.objects.filter(action="alerts.updated").count() == 1


def test_extra_recipients_must_be_within_the_accounts_domain(acme):
    with pytest.raises(ValidationError) as exc:
        alert_preferences_update(smart_account=acme.account, extra_recipients=["boss@elsewhere.example", "nope"],
                                 actor=acme.admin)
    assert exc.value.message_dict == {"extra_recipients": [
        "boss@elsewhere.example is not within the account's domain example.com.", "nope is not an email address."]}


@pytest.mark.parametrize("windows", [[], [0], [400], [1, 2, 3, 4, 5, 6], "soon"])
def test_expiry_windows_are_1_to_5_days_counts_up_to_a_year(acme, windows):
    with pytest.raises(ValidationError) as exc:
        alert_preferences_update(smart_account=acme.account, expiry_windows=windows, actor=acme.admin)
    assert "expiry_windows" in exc.value.message_dict


def test_only_sa_admins_change_alerts(acme):
    for actor in (acme.sa_user, acme.va_user, acme.outsider):
        with pytest.raises(PermissionDenied):
            alert_preferences_update(smart_account=acme.account, daily_summary=True, actor=actor)
    assert not AlertPreferences.objects.exists()


# --- the daily alerts ---------------------------------------------------------------------------


def _at(day, hour=12):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_devices_fallen_silent_are_alerted_once_per_day(acme):
    today = timezone.localdate()
    DeviceFactory(virtual_account=acme.us, serial_number="FELL", last_contact_at=_at(today - datetime.timedelta(days=31)))
    DeviceFactory(virtual_account=acme.us, serial_number="LONG-AGO", last_contact_at=_at(today - datetime.timedelta(days=60)))
    DeviceFactory(virtual_account=acme.us, serial_number="FRESH", last_contact_at=_at(today - datetime.timedelta(days=29)))

    assert tasks.alerts_daily.delay().get() == 1
    assert tasks.alerts_daily.delay().get() == 0  # a retried run owes nothing again

    owed = Notification.objects.get(kind="silent_devices")
    assert owed.recipient == "ada@example.com" and "FELL" in owed.body_text
    assert "LONG-AGO" not in owed.body_text and "FRESH" not in owed.body_text
    assert owed.subject == "1 device silent for 30 days in Acme"


def test_the_daily_summary_goes_to_those_who_asked_and_only_with_news(acme, product):
    alert_preferences_update(smart_account=acme.account, daily_summary=True, silent_devices=False, actor=acme.admin)
    assert alerts_daily_queue() == 0  # nothing to report

    device_report_usage(device=DeviceFactory(virtual_account=acme.finance), usage=[{"sku": product.sku, "count": 1}])
    assert alerts_daily_queue() == 1

    summary = Notification.objects.get(kind="daily_summary")
    assert "ISR-SEC-K9 in Finance" in summary.body_text
    assert summary.subject.startswith("Acme on ") and "1 shortage" in summary.subject
