"""The back office writes through the services (issue 2): the catalogue through
product_create/product_update (their rules shown on the form), partners through
partner_create and their members through the membership services (a partner keeps an admin)."""
import pytest
from django.urls import reverse

from accounts.models import Partner, PartnerMembership
from licensing.models import Product
from tests import factories as f

from .test_admin import admin_url, change_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(f.UserFactory(email="admin@vendor.example", is_staff=True, is_superuser=True))
    return client


def _add_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")


def _product_data(**overrides) -> dict:
    data = {
        "sku": "L-NEW-PACK", "name": "New Pack", "family": "Routing", "license_kind": "smart",
        "term_months": "", "is_active": "on", "smart_equivalent": "",
    }
    data.update(overrides)
    return data


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_adding_a_product_goes_through_the_service_and_normalises_the_sku(staff_client):
    response = staff_client.post(_add_url(Product), _product_data(sku="  l-new-pack "), follow=True)

    assert response.status_code == 200
    product = Product.objects.get()
    assert product.sku == "L-NEW-PACK"


def test_adding_a_product_with_a_lower_case_duplicate_sku_shows_an_error_and_creates_nothing(staff_client):
    f.ProductFactory(sku="L-DUP-1")

    response = staff_client.post(_add_url(Product), _product_data(sku="l-dup-1"))

    assert response.status_code == 200  # the form again, with its errors
    errors = response.context["adminform"].form.errors
    assert "A product with SKU L-DUP-1 already exists." in errors["sku"]
    assert Product.objects.count() == 1


def test_editing_term_months_to_zero_shows_an_error(staff_client):
    product = f.ProductFactory(sku="L-SUB-1", term_months=12)
    url = admin_url(product, "change")
    data = change_form_data(staff_client, url)
    data["term_months"] = "0"

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "term_months" in response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.term_months == 12


def test_editing_a_product_saves_through_product_update(staff_client):
    product = f.ProductFactory(sku="L-SUB-2", term_months=12)
    url = admin_url(product, "change")
    data = change_form_data(staff_client, url)
    data.update(sku="l-sub-2b", term_months="24")

    response = staff_client.post(url, data, follow=True)

    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.sku, product.term_months) == ("L-SUB-2B", 24)


def test_adding_a_partner_goes_through_partner_create(staff_client):
    f.PartnerFactory(name="Taken Networks")
    data = {
        "name": "taken networks", "kind": "reseller",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    }

    response = staff_client.post(_add_url(Partner), data)
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors

    data["name"] = "  Fresh   Networks "
    response = staff_client.post(_add_url(Partner), data, follow=True)
    assert response.status_code == 200
    assert Partner.objects.filter(name="Fresh Networks").exists()


def test_removing_the_last_partner_admin_in_the_inline_is_refused_with_a_message(staff_client):
    admin_membership = f.PartnerMembershipFactory(is_admin=True)
    url = admin_url(admin_membership.partner, "change")
    data = change_form_data(staff_client, url)
    assert data["memberships-0-id"] == str(admin_membership.pk)
    data["memberships-0-DELETE"] = "on"

    response = staff_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert PartnerMembership.objects.filter(pk=admin_membership.pk).exists()
    assert any("A partner keeps at least one admin." in note for note in _messages(response))


def test_demoting_the_last_partner_admin_in_the_inline_is_refused_but_members_can_be_added(staff_client):
    admin_membership = f.PartnerMembershipFactory(is_admin=True)
    newcomer = f.UserFactory()
    url = admin_url(admin_membership.partner, "change")
    data = change_form_data(staff_client, url)
    data.pop("memberships-0-is_admin")  # unticked
    data.update({
        "memberships-TOTAL_FORMS": "2", "memberships-1-user": str(newcomer.pk), "memberships-1-partner": str(admin_membership.partner.pk),
    })

    response = staff_client.post(url, data, follow=True)

    assert response.status_code == 200
    admin_membership.refresh_from_db()
    assert admin_membership.is_admin
    assert PartnerMembership.objects.filter(user=newcomer, partner=admin_membership.partner, is_admin=False).exists()
    assert any("at least one admin" in note for note in _messages(response))
