"""One account name is taken once, even when many ask for it at the same moment: the others get the
same field-keyed 400 the name check gives, never a 500 from the unique constraint.

The races need a real PostgreSQL (SQLite serialises every write); the constraint's translation is
also checked on any database by skipping the name check, so that the insert meets the twin."""
from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db.models.query import QuerySet
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AccessRequest, Partner, SmartAccount, SmartAccountKind, User
from tests.factories import ApiKeyFactory, PartnerFactory, PartnerMembershipFactory, SmartAccountFactory, UserFactory

from ..concurrency import run_many
from ..markers import requires_postgres

RACERS = 16


def _post_at_once(keys: list[str], body: dict) -> list:
    """POST `body` to the Smart Account list once per key, all at the same moment."""
    pending = list(keys)

    def job():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pending.pop()}")
        return client.post("/api/v1/smart-accounts/", body, format="json")

    return run_many(job, len(keys))


def _assert_one_created_the_rest_told_the_name_is_taken(answers: list, message: str) -> None:
    assert all(not isinstance(a, Exception) for a in answers), answers
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [400] * (len(answers) - 1), statuses
    for refused in (a for a in answers if a.status_code == 400):
        assert list(refused.json()) == ["name"] and message in refused.json()["name"][0], refused.json()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_creations_of_one_customer_account_name_make_one_and_answer_400_to_the_rest():
    keys = [ApiKeyFactory(user=UserFactory(email=f"u{i}@newco.example")).key for i in range(RACERS)]

    answers = _post_at_once(keys, {"name": "NewCo", "domain": "newco.example"})

    _assert_one_created_the_rest_told_the_name_is_taken(answers, "A Smart Account named NewCo already exists")
    assert SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, domain="newco.example").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_creations_of_one_holding_account_name_make_one_and_answer_400_to_the_rest():
    partner = PartnerFactory(name="Northwind Networks")
    keys = [
        ApiKeyFactory(user=PartnerMembershipFactory(partner=partner, user=UserFactory(email=f"p{i}@northwind.example")).user).key
        for i in range(RACERS)
    ]

    answers = _post_at_once(keys, {"kind": "holding", "name": "Stock"})

    _assert_one_created_the_rest_told_the_name_is_taken(answers, "already has a holding account named Stock")
    assert SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, partner=partner).count() == 1


# --- the constraint's answer, on any database --------------------------------------------------


@pytest.mark.django_db
def test_a_customer_account_name_taken_between_check_and_insert_is_the_checks_validation_error():
    first = UserFactory(email="ann@newco.example")
    services.smart_account_create(name="NewCo", domain="newco.example", actor=first)
    second = UserFactory(email="bob@newco.example")

    # The twin appears after the check has looked: the insert meets it.
    with mock.patch("accounts.services.smart_accounts._check_customer_name_free"):
        with pytest.raises(ValidationError) as refused:
            services.smart_account_create(name="newco", domain="newco.example", actor=second)

    assert refused.value.message_dict == {"name": ["A Smart Account named newco already exists for newco.example."]}
    assert SmartAccount.objects.filter(domain="newco.example").count() == 1


@pytest.mark.django_db
def test_a_holding_account_name_taken_between_check_and_insert_is_the_checks_validation_error():
    partner = PartnerFactory(name="Northwind Networks")
    ann, bob = (PartnerMembershipFactory(partner=partner, user=UserFactory(email=f"{n}@northwind.example")).user
                for n in ("ann", "bob"))
    services.holding_account_create(name="Stock", actor=ann)

    # The exists() check sees nothing (as it would before the twin commits); the insert meets it.
    real_exists = QuerySet.exists
    with mock.patch.object(QuerySet, "exists", autospec=True,
                           side_effect=lambda qs: qs.model is not SmartAccount and real_exists(qs)):
        with pytest.raises(ValidationError) as refused:
            services.holding_account_create(name="STOCK", actor=bob)

    assert refused.value.message_dict == {"name": ["Northwind Networks already has a holding account named STOCK."]}
    assert SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING, partner=partner).count() == 1


# --- partners and users: the same shape, the same answer ----------------------------------------


def _one_made_the_rest_refused_on(outcomes: list, field: str, message: str) -> None:
    made = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(made) == 1 and len(refused) == len(outcomes) - 1, outcomes
    assert all(r.message_dict == {field: [message]} for r in refused), refused


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_creations_of_one_partner_name_in_any_case_make_one_and_refuse_the_rest_on_the_name():
    names = iter(["Northwind Networks", "NORTHWIND NETWORKS", "northwind networks", "Northwind networks"] * 4)

    outcomes = run_many(lambda: services.partner_create(name=next(names), kind="reseller"), RACERS)

    _one_made_the_rest_refused_on(outcomes, "name", "A partner with this name already exists.")
    assert Partner.objects.filter(name__iexact="northwind networks").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_creations_of_one_user_email_make_one_and_refuse_the_rest_on_the_email():
    outcomes = run_many(lambda: services.user_create(email="Ann@NewCo.example", password="a long pass phrase 42"), RACERS)

    _one_made_the_rest_refused_on(outcomes, "email", "A user with this email address already exists.")
    assert User.objects.filter(email="ann@newco.example").count() == 1


@pytest.mark.django_db
def test_a_partner_name_taken_in_another_case_between_check_and_insert_is_the_checks_validation_error():
    services.partner_create(name="Northwind Networks", kind="reseller")

    real_exists = QuerySet.exists
    with mock.patch.object(QuerySet, "exists", autospec=True,
                           side_effect=lambda qs: qs.model is not Partner and real_exists(qs)):
        with pytest.raises(ValidationError) as refused:
            services.partner_create(name="NORTHWIND networks", kind="reseller")

    assert refused.value.message_dict == {"name": ["A partner with this name already exists."]}
    assert Partner.objects.count() == 1


@pytest.mark.django_db
def test_a_partner_renamed_onto_a_name_taken_between_check_and_save_is_the_checks_validation_error():
    services.partner_create(name="Northwind Networks", kind="reseller")
    other = services.partner_create(name="Southwind Systems", kind="reseller")

    real_exists = QuerySet.exists
    with mock.patch.object(QuerySet, "exists", autospec=True,
                           side_effect=lambda qs: qs.model is not Partner and real_exists(qs)):
        with pytest.raises(ValidationError) as refused:
            services.partner_update(partner=other, name="northwind NETWORKS", actor=None)

    assert refused.value.message_dict == {"name": ["A partner with this name already exists."]}
    other.refresh_from_db()
    assert other.name == "Southwind Systems"


@pytest.mark.django_db
def test_a_user_email_taken_between_check_and_insert_is_the_checks_validation_error():
    services.user_create(email="ann@newco.example", password="a long pass phrase 42")

    real_exists = QuerySet.exists
    with mock.patch.object(QuerySet, "exists", autospec=True,
                           side_effect=lambda qs: qs.model is not User and real_exists(qs)):
        with pytest.raises(ValidationError) as refused:
            services.user_create(email="ANN@newco.example", password="a long pass phrase 42")

    assert refused.value.message_dict == {"email": ["A user with this email address already exists."]}
    assert User.objects.filter(email="ann@newco.example").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_access_requests_of_one_user_at_once_make_one_and_refuse_the_rest_on_the_account():
    acme = SmartAccountFactory(name="Acme", domain="acme.example")
    vic = UserFactory(email="vic@acme.example")

    outcomes = run_many(lambda: services.access_request_create(smart_account=acme, actor=vic), RACERS)

    _one_made_the_rest_refused_on(outcomes, "smart_account", "You already have a pending request for this account.")
    assert AccessRequest.objects.filter(smart_account=acme, requester=vic).count() == 1


@pytest.mark.django_db
def test_an_access_request_made_between_check_and_insert_is_the_checks_validation_error():
    acme = SmartAccountFactory(name="Acme", domain="acme.example")
    vic = UserFactory(email="vic@acme.example")
    services.access_request_create(smart_account=acme, actor=vic)

    real_exists = QuerySet.exists
    with mock.patch.object(QuerySet, "exists", autospec=True,
                           side_effect=lambda qs: qs.model is not AccessRequest and real_exists(qs)):
        with pytest.raises(ValidationError) as refused:
            services.access_request_create(smart_account=acme, actor=vic)

    assert refused.value.message_dict == {"smart_account": ["You already have a pending request for this account."]}
    assert AccessRequest.objects.filter(smart_account=acme, requester=vic).count() == 1
