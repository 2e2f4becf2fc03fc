import pytest
from tests.licensing.pages_support import grow, html
from django.urls import reverse

pytestmark = pytest.mark.django_db

def test_smoke(client, acme):
    grow(acme, 2)
    client.force_login(acme.admin)
    from licensing.models import Product, ClassicLicense, RegistrationToken, Device
    p = Product.objects.get(sku="GROW-0000")
    urls = []
    for kw in ({"sa_pk": acme.account.pk}, {"va_pk": acme.us.pk}):
        for name in ["dashboard","license_list","license_export","license_transfer","token_list","device_list","event_list","event_export","reconciliation","reconciliation_export"]:
            urls.append(reverse(f"licensing:{name}", kwargs=kw))
        urls.append(reverse("licensing:license_detail", kwargs={**kw, "product_pk": p.pk}))
    urls += [reverse("licensing:classic_license_list", kwargs={"sa_pk": acme.account.pk}), reverse("licensing:alert_preferences", kwargs={"sa_pk": acme.account.pk})]
    pak = ClassicLicense.objects.first()
    urls += [f"/licensing/classic-licenses/{pak.pk}/", f"/licensing/classic-licenses/{pak.pk}/register/", f"/licensing/classic-licenses/{pak.pk}/convert/"]
    d = Device.objects.first()
    urls.append(reverse("licensing:device_move", kwargs={"sa_pk": acme.account.pk}) + f"?device={d.pk}")
    urls.append(f"/licensing/sa/{acme.account.pk}/licenses/transfer/available/?from_virtual_account={acme.us.pk}")
    urls += ["/", f"/sa/{acme.account.pk}/"]
    for url in urls:
        r = client.get(url)
        print(url, r.status_code)
        assert r.status_code == 200, url
