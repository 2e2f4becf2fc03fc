"""GET /api/v1/me/: who the caller is and which partner they belong to."""
import pytest

pytestmark = pytest.mark.django_db


def test_me_for_ordinary_user_has_no_partner(user_api, user):
    assert user_api.get("/api/v1/me/").json() == {
        "id": user.pk, "email": "user@example.com", "name": "Una User", "partner": None, "is_staff": False,
    }


def test_me_for_partner_admin_names_partner_and_admin_flag(partner_admin_api, partner):
    body = partner_admin_api.get("/api/v1/me/").json()
    assert body["partner"] == {"id": partner.pk, "name": "Acme Resellers", "kind": "reseller", "is_admin": True}
    assert body["is_staff"] is False


def test_me_for_partner_member_is_not_admin(partner_member_api):
    assert partner_member_api.get("/api/v1/me/").json()["partner"]["is_admin"] is False


def test_me_for_staff(staff_api):
    body = staff_api.get("/api/v1/me/").json()
    assert body["is_staff"] is True
    assert body["partner"] is None


def test_me_anonymous_is_401(anon):
    assert anon.get("/api/v1/me/").status_code == 401


def test_me_is_read_only(user_api):
    assert user_api.post("/api/v1/me/", {}, format="json").status_code == 405
