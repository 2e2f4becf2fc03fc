"""CSRF on every form (DESIGN.md §6): every page URL of the project — taken from the URL resolver,
so a new form is covered the day it is added, the admin's and allauth's included — refuses a
POST without the CSRF token with Django's CSRF failure (403), as a signed-in user who may use
the page; the same POST with the token gets past the check (and, where the role matrix has a
row for that POST, gets the answer the matrix expects).

The API: every unsafe method of an endpoint that takes session authentication refuses a session
caller without the token (DRF's "CSRF Failed" 403) and lets one with the token through; with an
API key (`Authorization: Bearer`) no token is needed: a browser never sends that header by
itself, so there is nothing to forge. The device endpoints take no session at all: a session
without the token neither fails the CSRF check nor acts as anyone (401), the device's own secret
needs no token.

URL arguments, request bodies and who may call come from the role matrix (its world,
tests/worlds/matrix.py, and its rows: every URL has one, test_every_url_has_a_row).
Every request runs in a savepoint that is rolled back.
"""
from __future__ import annotations

import json
import logging
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import transaction
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver, resolve
from rest_framework.authentication import SessionAuthentication

from ..reauth import reauthenticate
from tests.worlds.matrix import CALLERS, world  # noqa: F401 (world: the module-scoped fixture)
from .test_role_matrix import ROWS, Row

pytestmark = pytest.mark.django_db

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Who posts: someone the row lets in, signed in if anyone signed in may (staff, who may do
# nearly everything, only when nobody else may), anonymous only for the pages of signed-out users.
PREFERENCE = [caller for caller in reversed(CALLERS) if caller not in {"staff", "anonymous"}] + ["staff", "anonymous"]


def _patterns(resolver=None, prefix: str = ""):
    """(route, view) of every URL pattern, routes spelled as `resolve().route`."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = URLResolver._join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        else:
            yield route, pattern.callback


PAGE_ROUTES = sorted({route for route, _ in _patterns() if not route.startswith("api/")})
# Every unsafe method of every API view (DRF's views are `csrf_exempt` for Django's middleware and
# make their own check, in SessionAuthentication).
API_CALLS = sorted({
    (route, method)
    for route, view in _patterns() if route.startswith("api/") and hasattr(view, "cls")
    for method in UNSAFE if hasattr(view.cls, method.lower())
})
# The API views that take a session (all but the device endpoints).
SESSION_VIEWS = {
    route: any(issubclass(auth, SessionAuthentication) for auth in view.cls.authentication_classes)
    for route, view in _patterns() if route.startswith("api/") and hasattr(view, "cls")
}


@pytest.fixture(scope="module")
def rows_by_route(world) -> dict[str, list[Row]]:
    """The matrix's rows by the route their URL resolves to."""
    found = defaultdict(list)
    for row in ROWS:
        found[resolve(row.url(world).split("?")[0]).route].append(row)
    return found


def _caller(rows: list[Row]) -> tuple[Row, str]:
    """The row to follow and who calls: someone it lets in (of its POST rows first)."""
    for row in rows:
        for caller in PREFERENCE:
            if caller in row.ok:
                return row, caller
    return rows[0], "sa_admin"


def _client(world, caller: str, *, reauthenticated: bool = False) -> tuple[Client, str]:
    """A client that enforces CSRF as a browser would meet it: signed in as `caller`, holding the
    CSRF cookie (so that a missing token, not a missing cookie, is what fails); and the token.
    `reauthenticated`: its session just confirmed the password (rows that ask for it)."""
    client = Client(enforce_csrf_checks=True)
    if caller != "anonymous":
        client.force_login(world.users[caller])
        if reauthenticated:
            confirming = Client()
            confirming.cookies = client.cookies
            reauthenticate(confirming)
    request = RequestFactory().get("/")
    token = get_token(request)
    client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    return client, token


def _is_csrf_failure(response, records) -> bool:
    """Refused by Django's CSRF check (its failure view, CSRF_FAILURE_VIEW): a 403 and the CSRF
    middleware's own log line, "Forbidden (CSRF token missing.)"."""
    return response.status_code == 403 and any(
        record.name == "django.security.csrf" and "CSRF token missing" in record.getMessage() for record in records
    )


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_every_page_refuses_a_post_without_the_csrf_token(world, rows_by_route, route, caplog):
    rows = rows_by_route.get(route)
    assert rows, f"{route}: no row in the role matrix to build its URL from"
    posts = [row for row in rows if row.method == "POST"]
    row, caller = _caller(posts or rows)
    body = row.body(world, caller) if (row.body and row.method == "POST") else {}
    url = row.url(world, caller)

    with transaction.atomic(), caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        client, token = _client(world, caller)
        refused = client.post(url, body)
        transaction.set_rollback(True)
    assert _is_csrf_failure(refused, caplog.records), (
        f"POST {url} as {caller} without the CSRF token: {refused.status_code} {refused.content[:200]!r}")
    caplog.clear()

    with transaction.atomic(), caplog.at_level(logging.WARNING, logger="django.security.csrf"):
        client, token = _client(world, caller, reauthenticated=row.reauthenticated)
        passed = client.post(url, {**body, "csrfmiddlewaretoken": token})
        transaction.set_rollback(True)
    assert not _is_csrf_failure(passed, caplog.records), f"POST {url} as {caller} with the token: CSRF failure"
    if posts:
        # A form: with the token it does what the role matrix says it does.
        assert passed.status_code == row.expected(caller), (
            f"POST {url} as {caller} with the token: {passed.status_code}, the matrix expects {row.expected(caller)}")


@pytest.mark.parametrize(("route", "method"), API_CALLS, ids=[f"{m} {r}" for r, m in API_CALLS])
def test_every_unsafe_api_call_with_a_session_needs_the_csrf_token(world, rows_by_route, route, method):
    rows = [row for row in rows_by_route.get(route, []) if row.method == method]
    assert rows, f"{method} {route}: no row in the role matrix to build the call from"
    row, caller = _caller(rows)
    caller = caller if caller != "anonymous" else "no_role"  # the session of someone signed in
    url = row.url(world, caller)
    body = json.dumps(row.body(world, caller) if row.body else {})
    takes_session = SESSION_VIEWS[route]

    with transaction.atomic():
        client, token = _client(world, caller)
        without = getattr(client, method.lower())(url, body, content_type="application/json")
        transaction.set_rollback(True)
    detail = _detail(without)
    if takes_session:
        assert without.status_code == 403 and detail.startswith("CSRF Failed"), (
            f"{method} {url} with {caller}'s session, no token: {without.status_code} {detail}")
    else:
        # A device endpoint: the session is no credential there, and no CSRF check is made.
        assert without.status_code == row.expected("anonymous") and not detail.startswith("CSRF Failed"), (
            f"{method} {url} with a session: {without.status_code} {detail}")
        return

    with transaction.atomic():
        client, token = _client(world, caller, reauthenticated=row.reauthenticated)
        with_token = getattr(client, method.lower())(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
        transaction.set_rollback(True)
    assert not _detail(with_token).startswith("CSRF Failed")
    assert with_token.status_code == row.expected(caller), (
        f"{method} {url} as {caller} with the token: {with_token.status_code}, the matrix expects {row.expected(caller)}")

    with transaction.atomic():
        keyed = getattr(Client(enforce_csrf_checks=True), method.lower())(
            url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {world.api_keys[caller]}")
        transaction.set_rollback(True)
    assert not _detail(keyed).startswith("CSRF Failed")
    # Calls that need a re-authenticated session refuse an API key (403, their "API key" rows).
    assert keyed.status_code == (403 if row.reauthenticated else row.expected(caller)), (
        f"{method} {url} with {caller}'s API key and no token: {keyed.status_code}")


def _detail(response) -> str:
    """The `detail` of an API error ("" for an answer without a JSON body)."""
    if not response.get("Content-Type", "").startswith("application/json"):
        return ""
    return str(response.json().get("detail", "")) if isinstance(response.json(), dict) else ""


def test_the_device_itself_needs_no_csrf_token(world):
    """The device's secret is no ambient credential: its report goes through without a token."""
    url = f"/api/v1/devices/{world.left_device.pk}/usage/"
    with transaction.atomic():
        response = Client(enforce_csrf_checks=True).post(
            url, json.dumps({"usage": [{"sku": world.smart.sku, "count": 1}]}), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {world.left_device_secret}")
        transaction.set_rollback(True)
    assert response.status_code == 200, response.content
