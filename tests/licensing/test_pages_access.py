"""Who may open which licensing page (DESIGN.md §3): an account or Virtual Account the user may
not see answers 404 (no existence leak); an action the user may see but not do answers 403."""
import pytest
from django.urls import reverse

from ..factories import (
    ClassicLicenseFactory,
    DeviceFactory,
    EntitlementFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    ProductFactory,
    RegistrationTokenFactory,
)

pytestmark = pytest.mark.django_db

SCOPED_PAGES = ["dashboard", "license_list", "license_export", "token_list", "device_list", "event_list", "event_export",
                "reconciliation", "reconciliation_export"]


def scoped_urls(kwargs: dict) -> list[str]:
    return [reverse(f"licensing:{name}", kwargs=kwargs) for name in SCOPED_PAGES]


@pytest.fixture
def things(acme, product):
    """A device, a token and a PAK in Acme (the device and token in Europe, outside the VA roles' US)."""
    classic = ProductFactory(sku="ASA-K9", classic=True, smart_equivalent=product)
    EntitlementFactory(virtual_account=acme.europe, product=product, quantity=5)
    return {
        "device": DeviceFactory(virtual_account=acme.europe),
        "us_device": DeviceFactory(virtual_account=acme.us),
        "token": RegistrationTokenFactory(virtual_account=acme.europe),
        "us_token": RegistrationTokenFactory(virtual_account=acme.us),
        "pak": ClassicLicenseFactory(smart_account=acme.account, product=classic),
    }


def test_anonymous_visitors_are_sent_to_sign_in(client, acme):
    for url in ["/licensing/", *scoped_urls({"sa_pk": acme.account.pk}), *scoped_urls({"va_pk": acme.us.pk})]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_an_account_the_user_may_not_see_is_404_on_every_page(client, acme, things, product):
    client.force_login(acme.outsider)
    urls = [
        *scoped_urls({"sa_pk": acme.account.pk}), *scoped_urls({"va_pk": acme.us.pk}),
        reverse("licensing:license_detail", kwargs={"sa_pk": acme.account.pk, "product_pk": product.pk}),
        reverse("licensing:license_transfer", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:classic_license_detail", kwargs={"pk": things["pak"].pk}),
        reverse("licensing:classic_license_register", kwargs={"pk": things["pak"].pk}),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    posts = [
        reverse("licensing:token_create", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:token_revoke", kwargs={"pk": things["token"].pk}),
        reverse("licensing:device_remove", kwargs={"pk": things["device"].pk}),
        reverse("licensing:device_move", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:license_transfer", kwargs={"sa_pk": acme.account.pk}),
        reverse("licensing:classic_license_convert", kwargs={"pk": things["pak"].pk}),
    ]
    for url in posts:
        assert client.post(url, {}).status_code == 404, url


def test_unknown_accounts_and_virtual_accounts_are_404_like_invisible_ones(client, acme):
    client.force_login(acme.admin)
    assert client.get("/licensing/sa/999999/licenses/").status_code == 404
    assert client.get("/licensing/va/999999/devices/").status_code == 404


def test_a_va_role_sees_its_subtree_but_a_sibling_or_parent_virtual_account_is_404(client, acme, things):
    client.force_login(acme.va_user)
    for url in scoped_urls({"va_pk": acme.us.pk}) + scoped_urls({"va_pk": acme.finance.pk}):
        assert client.get(url).status_code == 200, url
    for va in (acme.europe, acme.root):
        for url in scoped_urls({"va_pk": va.pk}):
            assert client.get(url).status_code == 404, url
    # Objects in the sibling are as invisible as the sibling.
    assert client.post(reverse("licensing:token_revoke", kwargs={"pk": things["token"].pk})).status_code == 404
    assert client.post(reverse("licensing:device_remove", kwargs={"pk": things["device"].pk})).status_code == 404


def test_a_va_role_on_the_account_pages_sees_only_its_subtree(client, acme, things):
    client.force_login(acme.va_user)
    devices = client.get(reverse("licensing:device_list", kwargs={"sa_pk": acme.account.pk})).content.decode()
    assert things["us_device"].serial_number in devices and things["device"].serial_number not in devices
    tokens = client.get(reverse("licensing:token_list", kwargs={"sa_pk": acme.account.pk})).content.decode()
    assert things["us_token"].prefix in tokens and things["token"].prefix not in tokens


def test_viewers_see_the_pages_but_may_not_transfer_create_tokens_or_touch_devices(client, acme, things, product):
    for viewer in (acme.sa_viewer, acme.va_viewer):
        client.force_login(viewer)
        scope = {"sa_pk": acme.account.pk} if viewer == acme.sa_viewer else {"va_pk": acme.us.pk}
        for url in scoped_urls(scope):
            expected = 403 if "/tokens/" in url else 200  # tokens: users up (test_a_viewer_is_refused_the_token_pages)
            assert client.get(url).status_code == expected, (viewer, url)
        assert "Transfer licenses" not in client.get(reverse("licensing:license_list", kwargs=scope)).content.decode()
        transfer = reverse("licensing:license_transfer", kwargs=scope)
        assert client.get(transfer).status_code == 403
        assert client.post(transfer, {}).status_code == 403
        assert client.post(reverse("licensing:token_create", kwargs=scope), {"virtual_account": acme.us.pk,
                                                                             "expires_in_days": 30}).status_code == 403
        assert client.post(reverse("licensing:token_revoke", kwargs={"pk": things["us_token"].pk})).status_code == 403
        assert client.post(reverse("licensing:device_remove", kwargs={"pk": things["us_device"].pk})).status_code == 403
        assert client.get(reverse("licensing:device_move", kwargs=scope) + f"?device={things['us_device'].pk}").status_code == 403
    assert things["us_token"].__class__.objects.get(pk=things["us_token"].pk).revoked_at is None
    assert things["us_device"].__class__.objects.filter(pk=things["us_device"].pk).exists()


def test_a_viewer_is_refused_the_token_pages_and_is_shown_no_way_to_them(client, acme, things):
    """Tokens are secrets of the pool (DESIGN.md §5, users up): a viewer sees the account, its
    devices and licenses, but no token's description, prefix, creator or uses, as in the API."""
    for viewer, scope in ((acme.sa_viewer, {"sa_pk": acme.account.pk}), (acme.va_viewer, {"va_pk": acme.us.pk}),
                          (acme.va_viewer, {"sa_pk": acme.account.pk})):
        client.force_login(viewer)
        response = client.get(reverse("licensing:token_list", kwargs=scope))
        assert response.status_code == 403, (viewer, scope)
        assert things["us_token"].prefix not in response.content.decode()
        for name in ("dashboard", "device_list", "license_list"):
            page = client.get(reverse(f"licensing:{name}", kwargs=scope)).content.decode()
            assert "/tokens/" not in page, (viewer, name)
        home = client.get(reverse("portal:smart_account_detail", kwargs={"pk": acme.account.pk})).content.decode()
        assert "/tokens/" not in home, viewer


def test_a_user_sees_the_tokens_of_the_virtual_accounts_they_may_operate_in_only(client, acme, things):
    client.force_login(acme.va_user)
    for scope in ({"sa_pk": acme.account.pk}, {"va_pk": acme.us.pk}):
        response = client.get(reverse("licensing:token_list", kwargs=scope))
        assert response.status_code == 200
        assert {t.pk for t in response.context["page_obj"].object_list} == {things["us_token"].pk}
        page = client.get(reverse("licensing:device_list", kwargs=scope)).content.decode()
        assert reverse("licensing:token_list", kwargs=scope) in page


def test_only_account_wide_operators_register_or_convert_paks(client, acme, things):
    pak = things["pak"]
    client.force_login(acme.sa_viewer)
    assert client.get(reverse("licensing:classic_license_detail", kwargs={"pk": pak.pk})).status_code == 200
    assert client.get(reverse("licensing:classic_license_register", kwargs={"pk": pak.pk})).status_code == 403
    assert client.post(reverse("licensing:classic_license_convert", kwargs={"pk": pak.pk}), {}).status_code == 403
    client.force_login(acme.va_user)  # PAKs are the account's as a whole: not a VA role's to see
    assert client.get(reverse("licensing:classic_license_detail", kwargs={"pk": pak.pk})).status_code == 404
    assert client.post(reverse("licensing:classic_license_convert", kwargs={"pk": pak.pk}), {}).status_code == 404
    client.force_login(acme.sa_user)
    assert client.get(reverse("licensing:classic_license_register", kwargs={"pk": pak.pk})).status_code == 200


def test_only_account_admins_open_the_alert_preferences(client, acme):
    url = reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})
    for user in (acme.sa_user, acme.sa_viewer, acme.va_user):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert "Alerts" not in client.get(reverse("licensing:dashboard", kwargs={"sa_pk": acme.account.pk})).content.decode()
    client.force_login(acme.admin)
    assert client.get(url).status_code == 200


def test_holding_accounts_have_no_licensing_pages(client, acme):
    holding = HoldingAccountFactory()
    member = HoldingMembershipFactory(smart_account=holding).user
    client.force_login(member)
    assert client.get(reverse("licensing:license_list", kwargs={"sa_pk": holding.pk})).status_code == 404
    assert client.get(reverse("licensing:dashboard", kwargs={"va_pk": holding.default_virtual_account_id})).status_code == 404


def test_a_va_user_acts_in_its_subtree_only(client, acme, things):
    client.force_login(acme.va_user)
    created = client.post(reverse("licensing:token_create", kwargs={"sa_pk": acme.account.pk}),
                          {"virtual_account": acme.europe.pk, "expires_in_days": 30})
    assert created.status_code == 200 and "Select a valid choice" in created.content.decode()
    assert not things["token"].__class__.objects.filter(virtual_account=acme.europe, created_by=acme.va_user).exists()
    assert client.post(reverse("licensing:token_revoke", kwargs={"pk": things["us_token"].pk})).status_code == 302
