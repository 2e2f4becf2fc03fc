"""The alert and email preferences page (SA admins): which alerts, expiry windows, extra
recipients within the account's domain (the service decides; its errors show by the field)."""
import pytest
from django.urls import reverse

from licensing import selectors

from .pages_support import html

pytestmark = pytest.mark.django_db


def form(**changes):
    data = {"insufficient_licenses": "on", "silent_devices": "on", "expiring_subscriptions": "on",
            "expiry_windows": "90, 30, 7", "holding_lines_waiting": "on", "extra_recipients": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_changes_the_alerts_and_recipients(client, acme):
    client.force_login(acme.admin)
    url = reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})
    response = client.post(url, form(silent_devices=None, daily_summary="on", expiry_windows="30 7",
                                     extra_recipients="NOC@example.com\nfinance@example.com"))
    assert response["Location"] == url
    preferences = selectors.alert_preferences(acme.account)
    assert preferences.silent_devices is False and preferences.daily_summary is True
    assert preferences.expiry_windows == [30, 7]
    assert preferences.extra_recipients == ["finance@example.com", "noc@example.com"]
    page = html(client.get(url))
    assert "Alert and email preferences saved." in page and "finance@example.com\nnoc@example.com" in page


def test_the_form_of_an_account_that_never_chose_shows_the_default_windows_90_30_and_7(client, acme):
    client.force_login(acme.admin)
    page = html(client.get(reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})))

    field = page[page.index('id="id_expiry_windows"') - 200:page.index('id="id_expiry_windows"') + 200]
    assert 'value="90, 30, 7"' in field
    assert "the default is <code>90, 30, 7</code>" in page


def test_recipients_outside_the_accounts_domain_are_refused_next_to_the_field(client, acme):
    client.force_login(acme.admin)
    url = reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})
    response = client.post(url, form(extra_recipients="ceo@gmail.example", expiry_windows="400"))
    page = html(response)
    assert response.status_code == 200
    errors = page[page.index('id="id_extra_recipients_errors"'):]
    assert "ceo@gmail.example is not within the account&#x27;s domain example.com." in errors[:300]
    assert 'id="id_expiry_windows_errors"' in page
    assert selectors.alert_preferences(acme.account).pk is None  # nothing saved
