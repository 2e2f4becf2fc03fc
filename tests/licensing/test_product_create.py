"""The catalogue: staff add products through `product_create`."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Event
from licensing.models import LicenseKind, Product
from licensing.services import product_create

from ..factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def create(actor, **overrides):
    fields = {"sku": "C9300-DNA-E-3Y", "name": "DNA Essentials", "family": "Switching", "license_kind": "smart",
              "term_months": 36, "sa_required": True}
    fields.update(overrides)
    return product_create(actor=actor, **fields)


def test_staff_add_a_product_to_the_catalogue(staff_user):
    product = create(staff_user)

    stored = Product.objects.get(pk=product.pk)
    assert (stored.sku, stored.name, stored.family, stored.license_kind, stored.term_months, stored.sa_required) == (
        "C9300-DNA-E-3Y", "DNA Essentials", "Switching", LicenseKind.SMART, 36, True,
    )
    assert stored.is_subscription and stored.is_active


def test_products_record_no_event_because_events_belong_to_a_smart_account(staff_user):
    create(staff_user)

    assert not Event.objects.exists()


def test_the_system_may_create_products_without_an_actor(db):
    assert create(None, term_months=None).is_subscription is False


def test_only_staff_can_create_products(user):
    with pytest.raises(PermissionDenied):
        create(user)
    assert not Product.objects.exists()


def test_an_inactive_staff_user_cannot_create_products(db):
    former = UserFactory(is_staff=True, is_active=False)

    with pytest.raises(PermissionDenied):
        create(former)


def test_sku_is_stored_stripped_and_upper_case(staff_user):
    assert create(staff_user, sku="  l-isr4k-sec=  ").sku == "L-ISR4K-SEC="


def test_sku_is_unique_ignoring_case(staff_user):
    ProductFactory(sku="ISR-SEC-K9")

    with pytest.raises(ValidationError) as exc:
        create(staff_user, sku="isr-sec-k9")
    assert "already exists" in exc.value.message_dict["sku"][0]


@pytest.mark.parametrize("sku", ["", "   ", "ISR SEC", "ISR;SEC", "X" * 61])
def test_sku_is_letters_digits_and_punctuation_without_spaces(staff_user, sku):
    with pytest.raises(ValidationError) as exc:
        create(staff_user, sku=sku)
    assert set(exc.value.message_dict) == {"sku"}


@pytest.mark.parametrize("months", [1, 12, 120, "24"])
def test_term_months_of_1_to_120_make_a_subscription(staff_user, months):
    assert create(staff_user, term_months=months).term_months == int(months)


@pytest.mark.parametrize("months", [0, -1, 121, 1.5, "a year", True])
def test_term_months_outside_1_to_120_are_refused(staff_user, months):
    with pytest.raises(ValidationError) as exc:
        create(staff_user, term_months=months)
    assert set(exc.value.message_dict) == {"term_months"}


def test_no_term_makes_a_perpetual_license(staff_user):
    assert create(staff_user, term_months=None).term_months is None


def test_license_kind_is_smart_or_classic(staff_user):
    assert create(staff_user, sku="PAK-1", license_kind=LicenseKind.CLASSIC).license_kind == "classic"
    with pytest.raises(ValidationError) as exc:
        create(staff_user, sku="PAK-2", license_kind="floating")
    assert set(exc.value.message_dict) == {"license_kind"}


def test_every_invalid_field_is_reported_at_once(staff_user):
    with pytest.raises(ValidationError) as exc:
        create(staff_user, sku="", name="  ", family="", license_kind="", term_months=0)
    assert set(exc.value.message_dict) == {"sku", "name", "family", "license_kind", "term_months"}


def test_name_and_family_are_trimmed_and_bounded(staff_user):
    product = create(staff_user, name="  DNA   Essentials ", family=" Switching ")
    assert (product.name, product.family) == ("DNA Essentials", "Switching")
    with pytest.raises(ValidationError) as exc:
        create(staff_user, sku="OTHER", name="x" * 201)
    assert set(exc.value.message_dict) == {"name"}
