"""POST /api/v1/users/ (staff): a registered user with a verified email."""
import pytest
from allauth.account.models import EmailAddress

from accounts.models import User

pytestmark = pytest.mark.django_db

GOOD = {"email": "New.Person@Customer.example", "password": "a long enough passphrase 42", "name": "New Person"}


def test_staff_creates_a_verified_user(staff_api):
    response = staff_api.post("/api/v1/users/", GOOD, format="json")
    assert response.status_code == 201
    user = User.objects.get(email="new.person@customer.example")
    assert response.json() == {"id": user.pk, "email": "new.person@customer.example", "name": "New Person"}
    assert "password" not in response.json()
    assert user.check_password(GOOD["password"])
    assert EmailAddress.objects.get(user=user).verified


def test_created_user_can_sign_in_to_the_api_with_a_session(staff_api):
    staff_api.post("/api/v1/users/", GOOD, format="json")
    from rest_framework.test import APIClient

    client = APIClient()
    assert client.login(email="new.person@customer.example", password=GOOD["password"])
    assert client.get("/api/v1/me/").json()["email"] == "new.person@customer.example"


@pytest.mark.parametrize("caller", ["partner_admin_api", "partner_member_api", "user_api"])
def test_non_staff_may_not_create_users(caller, request):
    response = request.getfixturevalue(caller).post("/api/v1/users/", GOOD, format="json")
    assert response.status_code == 403
    assert not User.objects.filter(email__iexact=GOOD["email"]).exists()


def test_anonymous_may_not_create_users(anon, db):
    assert anon.post("/api/v1/users/", GOOD, format="json").status_code == 401
    assert not User.objects.filter(email__iexact=GOOD["email"]).exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "user@example.com"}, "email"),  # taken by the `user` fixture
        ({"password": "short"}, "password"),
        ({"password": "password"}, "password"),
    ],
)
def test_bad_input_is_field_keyed_400_and_creates_nothing(staff_api, user, change, field):
    before = User.objects.count()
    response = staff_api.post("/api/v1/users/", {**GOOD, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert all(isinstance(m, str) for m in body[field])
    assert User.objects.count() == before


def test_missing_fields_are_named(staff_api):
    response = staff_api.post("/api/v1/users/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"email", "password"}


def test_users_has_no_listing(staff_api):
    assert staff_api.get("/api/v1/users/").status_code == 405
