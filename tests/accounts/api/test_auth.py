"""Authentication and the error format shared by every endpoint (DESIGN.md §5)."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey

from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_call_is_401_with_bearer_challenge(anon):
    response = anon.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_anonymous_write_is_401_not_403(anon):
    response = anon.post("/api/v1/partners/", {"name": "X", "kind": "reseller"}, format="json")
    assert response.status_code == 401


def test_bearer_key_authenticates_and_records_last_use(user):
    key = ApiKeyFactory(user=user)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key.key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_revoked_key_is_401(user):
    key = ApiKeyFactory(user=user, revoked_at=timezone.now())
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {key.key}").get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_key_revoked_after_use_stops_working(user):
    key = ApiKeyFactory(user=user)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {key.key}")
    assert client.get("/api/v1/me/").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert client.get("/api/v1/me/").status_code == 401


def test_unknown_key_is_401(db):
    response = APIClient(HTTP_AUTHORIZATION="Bearer slp_not-a-real-key").get("/api/v1/me/")
    assert response.status_code == 401


def test_key_of_deactivated_user_is_401(db):
    key = ApiKeyFactory(user=UserFactory(is_active=False))
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {key.key}").get("/api/v1/me/").status_code == 401


def test_malformed_authorization_header_is_401(db):
    response = APIClient(HTTP_AUTHORIZATION="Bearer two words").get("/api/v1/me/")
    assert response.status_code == 401


def test_session_authenticates(api_as, user):
    assert api_as(user).get("/api/v1/me/").json()["email"] == user.email


def test_session_writes_need_csrf_token(user, staff_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/v1/partners/", {"name": "Csrf Co", "kind": "reseller"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_bearer_writes_need_no_csrf_token(staff_user):
    key = ApiKeyFactory(user=staff_user)
    client = APIClient(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {key.key}")
    response = client.post("/api/v1/partners/", {"name": "Keyed Co", "kind": "reseller"}, format="json")
    assert response.status_code == 201


def test_unknown_object_is_json_404(user_api):
    response = user_api.get("/api/v1/products/999999/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_malformed_json_body_is_400(staff_api):
    response = staff_api.post("/api/v1/partners/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
