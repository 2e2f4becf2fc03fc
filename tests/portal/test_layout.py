"""Every page wears the same layout: vendored assets only, navigation, messages, error pages."""
import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template.loader import render_to_string
from django.urls import reverse

from tests.factories import SmartAccountRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

ASSET_TAG = re.compile(r"<(?:script|link)\b[^>]*>", re.IGNORECASE)


def external_assets(html: str) -> list[str]:
    return [tag for tag in ASSET_TAG.findall(html) if re.search(r"""(?:src|href)=["']?(?:https?:)?//""", tag)]


def test_dashboard_uses_the_layout_with_vendored_assets(logged_in_client):
    response = logged_in_client.get(reverse("portal:dashboard"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Smart Licensing" in html and 'class="navbar-brand' in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "/static/vendor/bootstrap-icons/bootstrap-icons.min.css" in html
    assert external_assets(html) == []


def test_htmx_requests_carry_the_csrf_token(logged_in_client):
    html = logged_in_client.get(reverse("portal:dashboard")).content.decode()

    assert re.search(r"""<body[^>]*hx-headers='\{"X-CSRFToken": "[A-Za-z0-9]{32,}"\}'""", html)


def test_sign_out_is_a_post_form(logged_in_client):
    html = logged_in_client.get(reverse("portal:dashboard")).content.decode()

    assert re.search(rf'<form method="post" action="{reverse("account_logout")}">\s*<input type="hidden" name="csrfmiddlewaretoken"', html)


def test_account_switcher_lists_the_users_accounts(client):
    role = SmartAccountRoleFactory(content_object__name="Acme Corp", content_object__domain="acme.example")
    client.force_login(role.user)

    html = client.get(reverse("portal:dashboard")).content.decode()

    assert "Acme Corp" in html
    assert f'href="/sa/{role.content_object.pk}/"' in html


def test_outsider_sees_no_one_elses_accounts_in_the_switcher(client, user):
    SmartAccountRoleFactory(content_object__name="Hidden Industries")
    client.force_login(user)

    html = client.get(reverse("portal:dashboard")).content.decode()

    assert "Hidden Industries" not in html
    assert "No accounts yet" in html


def test_admin_link_only_for_staff(client, user, staff_user):
    client.force_login(user)
    assert reverse("admin:index") not in client.get(reverse("portal:dashboard")).content.decode()

    client.force_login(staff_user)
    assert f'href="{reverse("admin:index")}"' in client.get(reverse("portal:dashboard")).content.decode()


def test_flash_messages_are_dismissible_alerts(rf, user):
    request = rf.get("/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    messages.error(request, "The token has expired.")
    messages.success(request, "Token created.")

    html = render_to_string("portal/dashboard.html", request=request)

    assert re.search(r'class="alert alert-danger alert-dismissible[^"]*"\s+role="alert">\s*The token has expired\.', html)
    assert re.search(r'class="alert alert-success alert-dismissible[^"]*"\s+role="status">\s*Token created\.', html)
    assert html.count('data-bs-dismiss="alert"') == 2


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(reverse("portal:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_sign_in_page_uses_the_portal_layout(client):
    html = client.get(reverse("account_login")).content.decode()

    assert "Sign In · Smart Licensing" in " ".join(html.split())
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert 'class="form-control' in html  # fields styled by includes/form.html
    assert 'class="btn btn-primary w-100"' in html
    assert external_assets(html) == []


def test_sign_in_errors_appear_next_to_the_form(client):
    UserFactory(email="ada@acme.example")

    html = client.post(reverse("account_login"), {"login": "ada@acme.example", "password": "wrong"}).content.decode()

    assert 'class="alert alert-danger"' in html
    assert "not correct" in html


def test_unknown_page_is_a_styled_404(logged_in_client, settings):
    settings.DEBUG = False

    response = logged_in_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "navbar-brand" in response.content.decode()


def test_500_page_renders_without_a_request_or_database():
    html = render_to_string("500.html")

    assert "Something went wrong" in html and "/static/vendor/bootstrap/bootstrap.min.css" in html


@pytest.mark.parametrize(
    "url_name, heading",
    [("account_email", "Email Addresses"), ("account_change_password", "Change Password"), ("mfa_index", "Two-Factor Authentication")],
)
def test_profile_pages_use_the_portal_layout_with_a_settings_menu(logged_in_client, url_name, heading):
    response = logged_in_client.get(reverse(url_name))

    html = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert re.search(rf'<h1 class="h3 mb-3">\s*{heading}\s*</h1>', html)
    assert 'aria-label="Your settings"' in html and 'class="navbar-brand' in html
