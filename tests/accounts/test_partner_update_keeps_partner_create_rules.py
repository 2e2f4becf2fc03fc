"""`partner_update` keeps partner_create's rules (a name unique whatever its case; only resellers
are linked to a distributor), keeps a partner the kind its two-tier links and orders say, is
for partner staff only, and records what changed in the partner's holding accounts' logs."""
import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Event, EventAction, PartnerKind
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return f.UserFactory(is_staff=True, is_superuser=True)


def test_a_case_variant_of_another_partners_name_is_refused(staff):
    f.PartnerFactory(name="Northwind Networks")
    partner = f.PartnerFactory(name="Contoso")

    with pytest.raises(ValidationError) as refused:
        services.partner_update(partner=partner, name="northwind  NETWORKS", actor=staff)

    assert refused.value.message_dict == {"name": ["A partner with this name already exists."]}


def test_renaming_to_its_own_name_in_another_case_is_allowed(staff):
    partner = f.PartnerFactory(name="Contoso")

    services.partner_update(partner=partner, name="CONTOSO", actor=staff)

    partner.refresh_from_db()
    assert partner.name == "CONTOSO"


def test_a_distributor_with_two_tier_orders_stays_a_distributor(staff):
    distributor = f.PartnerFactory(distributor=True)
    f.OrderFactory(partner=distributor, reseller=f.PartnerFactory())

    with pytest.raises(ValidationError) as refused:
        services.partner_update(partner=distributor, kind=PartnerKind.RESELLER, linked_resellers=[], actor=staff)

    assert "kind" in refused.value.message_dict


def test_a_reseller_linked_to_a_distributor_stays_a_reseller(staff):
    distributor = f.PartnerFactory(distributor=True, name="Northwind Distribution")
    reseller = f.PartnerFactory()
    distributor.linked_resellers.add(reseller)

    with pytest.raises(ValidationError, match="Northwind Distribution"):
        services.partner_update(partner=reseller, kind=PartnerKind.DISTRIBUTOR, actor=staff)


def test_only_resellers_are_linked_and_never_the_partner_itself(staff):
    distributor = f.PartnerFactory(distributor=True)
    other = f.PartnerFactory(distributor=True, name="Other Distribution")

    with pytest.raises(ValidationError) as refused:
        services.partner_update(partner=distributor, linked_resellers=[other, distributor], actor=staff)

    assert "linked_resellers" in refused.value.message_dict
    assert not distributor.linked_resellers.exists()


def test_staff_without_the_partners_power_may_not_change_a_partner():
    clerk = f.UserFactory(is_staff=True)
    partner = f.PartnerFactory(name="Contoso")

    with pytest.raises(PermissionDenied):
        services.partner_update(partner=partner, name="Contoso Ltd", actor=clerk)

    clerk = f.UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="change_partner"))
    services.partner_update(partner=partner, name="Contoso Ltd", actor=clerk)
    partner.refresh_from_db()
    assert partner.name == "Contoso Ltd"


def test_a_change_is_recorded_once_per_holding_account_and_no_change_records_nothing(staff):
    holding = f.HoldingAccountFactory(partner__name="Contoso")
    f.SmartAccountFactory(partner=holding.partner)  # a customer account it requested: not its log

    services.partner_update(partner=holding.partner, name="Contoso", kind=PartnerKind.RESELLER, actor=staff)
    assert not Event.objects.exists()

    services.partner_update(partner=holding.partner, kind=PartnerKind.DISTRIBUTOR, actor=staff)
    event = Event.objects.get()
    assert (event.smart_account, event.action, event.detail) == (
        holding, EventAction.PARTNER_UPDATED, {"kind": {"from": "reseller", "to": "distributor"}}
    )
