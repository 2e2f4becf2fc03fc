"""The Content-Security-Policy (django-csp): every response carries a strict policy, and no template
needs it loosened: scripts and styles come from our static files, never from inline markup."""
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import SmartAccountRoleFactory

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    assert header, f"{response.request['PATH_INFO']} has no Content-Security-Policy header"
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_every_page_is_served_with_a_strict_csp(client, staff_user):
    role = SmartAccountRoleFactory(user=staff_user)
    anonymous = [reverse("account_login"), "/help/", reverse("api:docs"), reverse("api:schema"), "/no-such-page/"]
    signed_in = [
        reverse("portal:dashboard"), f"/sa/{role.content_object.pk}/", reverse("orders:order_list"),
        "/api/v1/me/", reverse("admin:index"), reverse("admin:accounts_user_changelist"),
    ]
    responses = [client.get(url) for url in anonymous]
    client.force_login(staff_user)
    responses += [client.get(url) for url in signed_in]

    for response in responses:
        policy = directives(response)
        where = response.request["PATH_INFO"]
        assert policy["default-src"] == ["'self'"], where
        # No 'unsafe-inline', no 'unsafe-eval', no other host; a nonce only where a page needs one.
        nonce = [f"'nonce-{response.wsgi_request.csp_nonce}'"] if where == reverse("api:docs") else []
        assert policy["script-src"] == ["'self'", *nonce], where
        assert policy["style-src"] == ["'self'"], where
        assert policy["img-src"] == ["'self'", "data:"], where
        assert policy["connect-src"] == ["'self'"], where
        assert policy["object-src"] == ["'none'"], where
        assert policy["base-uri"] == ["'self'"], where
        assert policy["form-action"] == ["'self'"], where
        assert policy["frame-ancestors"] == ["'none'"], where


# What the policy refuses in markup. JSON data blocks (json_script, type="application/json") are not script.
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=[\"']application/json)[^>]*>\s*\S", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"""<[a-z][^>]*\son[a-z]+\s*=""", re.IGNORECASE | re.DOTALL)
# hx-on:* and js: values are run by htmx through Function(): they would need 'unsafe-eval'.
HTMX_SCRIPT = re.compile(r"""\shx-on[\w:.-]*\s*=|\shx-(?:vals|vars|headers)\s*=\s*['"]\s*(?:js|javascript):""", re.IGNORECASE)
JS_URL = re.compile(r"""(?:href|src|action)=['"]\s*javascript:""", re.IGNORECASE)
STYLE = re.compile(r"""<style\b|<[a-z][^>]*\sstyle\s*=""", re.IGNORECASE | re.DOTALL)


def page_templates() -> list[Path]:
    """The project's page templates; emails are not pages (mail clients need their inline styles)."""
    found = sorted((ROOT / "templates").rglob("*.html"))
    for app in ("accounts", "licensing", "orders", "portal"):
        found += sorted((ROOT / app / "templates").rglob("*.html"))
    return [path for path in found if "emails" not in path.relative_to(ROOT).parts]


def test_templates_hold_no_inline_script():
    templates = page_templates()
    assert len(templates) > 50

    offenders, nonced = [], []
    for path in templates:
        text, where = path.read_text(), str(path.relative_to(ROOT))
        for script in INLINE_SCRIPT.findall(text):
            (nonced if 'nonce="{{ request.csp_nonce }}"' in script else offenders).append(f"{where}: inline <script>")
        for name, pattern in (("on*= handler", EVENT_HANDLER), ("htmx script", HTMX_SCRIPT), ("javascript: URL", JS_URL)):
            if pattern.search(text):
                offenders.append(f"{where}: {name}")
    assert offenders == []
    # Only a third-party page that cannot do without runs inline script, under the response's nonce.
    assert nonced == ["templates/portal/api_docs.html: inline <script>"]


def test_templates_hold_no_inline_style():
    offenders = [str(path.relative_to(ROOT)) for path in page_templates() if STYLE.search(path.read_text())]

    assert offenders == []


def test_api_docs_run_only_their_own_set_up_script_inline_under_the_nonce(client):
    response = client.get(reverse("api:docs"))

    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    inline = INLINE_SCRIPT.findall(html)
    assert len(inline) == 1 and f'nonce="{nonce}"' in inline[0]
    assert "SwaggerUIBundle(" in html
    assert not STYLE.search(html)
    # A fresh nonce per response: one seen in a page is no key to the next.
    assert client.get(reverse("api:docs")).headers["Content-Security-Policy"] != response.headers["Content-Security-Policy"]


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(logged_in_client):
    html = logged_in_client.get(reverse("portal:dashboard")).content.decode()

    meta = re.search(r"""<meta name="htmx-config" content='([^']+)'>""", html)
    assert meta, "no htmx-config meta tag"
    config = json.loads(meta.group(1))
    # Its indicator <style> element and hx-on/js: attributes would need 'unsafe-inline'/'unsafe-eval'.
    assert config["includeIndicatorStyles"] is False
    assert config["allowEval"] is False
