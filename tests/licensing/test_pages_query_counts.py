"""Every licensing list page (and the dashboards that show licensing data) runs the same
number of queries whatever the amount of data: measured with one and with four products' worth
of entitlements, devices, usage, tokens, events, snapshots, PAKs and shortages per Virtual
Account (tests/licensing/pages_support.grow), for an SA admin and for a VA user."""
import pytest
from django.urls import reverse

from accounts.services import smart_account_create
from licensing.models import ClassicLicense, Device, Product

from .pages_support import grow, queries

pytestmark = pytest.mark.django_db

# A page that goes past this many queries has probably grown a per-row query even if the two
# sizes agree (e.g. per Virtual Account of a fixed tree).
CEILING = 45


def scoped(name: str, **extra) -> callable:
    return lambda acme, scope: reverse(f"licensing:{name}", kwargs={**scope(acme), **extra})


PAGES = {
    "dashboard": scoped("dashboard"),
    "dashboard 90 days": lambda acme, scope: scoped("dashboard")(acme, scope) + "?days=90",
    "licenses": scoped("license_list"),
    "licenses filtered": lambda acme, scope: scoped("license_list")(acme, scope) + "?family=Family+1&status=shortage",
    "license export": scoped("license_export"),
    "license detail": lambda acme, scope: reverse(
        "licensing:license_detail", kwargs={**scope(acme), "product_pk": Product.objects.get(sku="GROW-0000").pk}),
    "transfer": scoped("license_transfer"),
    "tokens": scoped("token_list"),
    "tokens filtered": lambda acme, scope: scoped("token_list")(acme, scope) + "?status=active",
    "devices": scoped("device_list"),
    "devices silent": lambda acme, scope: scoped("device_list")(acme, scope) + "?status=silent&q=FTX",
    "device move": lambda acme, scope: scoped("device_move")(acme, scope) + "?" + "&".join(
        f"device={pk}" for pk in Device.objects.filter(virtual_account=acme.us).values_list("pk", flat=True)[:3]),
    "events": scoped("event_list"),
    "events filtered": lambda acme, scope: scoped("event_list")(acme, scope) + f"?action=device.&virtual_account={acme.us.pk}",
    "event export": scoped("event_export"),
    "virtual account search": lambda acme, scope: scoped("virtual_account_search")(acme, scope) + "?q=e",
    "reconciliation": scoped("reconciliation"),
    "reconciliation export": scoped("reconciliation_export"),
}
ACCOUNT_PAGES = {
    "paks": lambda acme: reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk}),
    "pak detail": lambda acme: reverse("licensing:classic_license_detail", kwargs={"pk": ClassicLicense.objects.first().pk}),
    "alerts": lambda acme: reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk}),
    "licenses index": lambda acme: "/licensing/",
    "portal dashboard": lambda acme: "/",
    "account home": lambda acme: f"/sa/{acme.account.pk}/",
}
SCOPES = {
    "account": lambda acme: {"sa_pk": acme.account.pk},
    "virtual account": lambda acme: {"va_pk": acme.us.pk},
}


def measure(client, acme, urls: dict) -> dict:
    return {label: queries(client, make()) for label, make in urls.items()}


@pytest.mark.parametrize("who", ["admin", "va_user"])
def test_licensing_pages_run_a_fixed_number_of_queries(client, acme, who):
    smart_account_create(name="Acme Labs", domain="example.com", actor=acme.admin)  # the index lists, not redirects
    user = getattr(acme, who)
    client.force_login(user)
    urls = {}
    for scope_name, scope in SCOPES.items():
        if who == "va_user" and scope_name == "account":
            continue
        for label, make in PAGES.items():
            urls[f"{label} ({scope_name})"] = (lambda make=make, scope=scope: make(acme, scope))
    if who == "admin":
        for label, make in ACCOUNT_PAGES.items():
            urls[label] = (lambda make=make: make(acme))
    grow(acme, 1)
    small = measure(client, acme, urls)
    grow(acme, 3, start=1)
    large = measure(client, acme, urls)
    assert large == small
    assert max(large.values()) <= CEILING, large
