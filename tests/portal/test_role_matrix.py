"""DESIGN.md §3 for every page and every endpoint: one table, a row per URL and method, a cell per
caller (the columns of the roles table), each cell one request with its expected answer.

The harness (role groups, `Row`, the runner) is tests/role_matrix.py; each app's rows live beside
its tests (tests/accounts, tests/licensing, tests/orders: test_role_matrix.py), portal's own here
(its pages, django-allauth's and the admin's). `ROWS` and `CELLS` are the whole table: every URL
pattern of the project needs a row in it (test_every_url_has_a_row), so a new URL without one
fails the suite.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib import admin as django_admin
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve

from tests.accounts.test_role_matrix import ROWS as ACCOUNTS_ROWS
from tests.licensing.test_role_matrix import ROWS as LICENSING_ROWS
from tests.orders.test_role_matrix import ROWS as ORDERS_ROWS
from tests.role_matrix import (  # noqa: F401 (api, call: for the modules that follow the table's rows)
    ACCOUNT,
    EVERYONE,
    HOLDERS,
    LEFT_READERS,
    SIGNED_IN,
    STAFF,
    Row,
    acme,
    api,
    call,
    check_row,
    page,
    params,
    pk,
    token,
)
from tests.worlds.matrix import World, world  # noqa: F401 (world: the module-scoped fixture)

# --- portal's own rows: its pages, django-allauth's, the admin's ------------------------------

PORTAL_PAGES = [
    page("portal:dashboard", ok=SIGNED_IN),
    page("portal:smart_account_detail", kwargs=acme, ok=ACCOUNT),
    page("portal:smart_account_detail", label="holding account", kwargs=pk("dist_stock"), ok=HOLDERS),
    # The tree's levels and search (htmx): a sibling subtree is not on a VA role's path (404).
    page("portal:virtual_account_children", kwargs=lambda w: {"pk": w.acme.pk, "va_pk": w.left.pk}, ok=LEFT_READERS),
    page("portal:virtual_account_children", label="root", kwargs=lambda w: {"pk": w.acme.pk, "va_pk": w.root.pk},
         ok=ACCOUNT),
    page("portal:virtual_account_search", kwargs=acme, ok=ACCOUNT, query=lambda w: {"q": "Left"}),
    # The emailed link is personal: only its addressee follows it (staff activate through the API).
    page("portal:invitation_landing", kwargs=token("activation_token"), ok={"sa_admin"}, status=302,
         sees=SIGNED_IN),
]

# django-allauth's pages (not in DESIGN.md): signing in, up and out and resetting a password are
# public; a signed-in user is sent on from the login and signup pages (302); the pages about one's
# own email, password and second factor need a signed-in user.
ALLAUTH = [
    page("account_login", ok={"anonymous"}, others=302),
    page("account_signup", ok={"anonymous"}, others=302),
    page("account_logout", ok=SIGNED_IN, anonymous=302),
    page("account_logout", "POST", ok=SIGNED_IN, status=302, anonymous=302, fresh_session=True, records=False),
    page("account_inactive", ok=EVERYONE),
    page("account_reauthenticate", ok=SIGNED_IN),
    page("account_request_reauthentication_code", ok=SIGNED_IN),
    page("account_confirm_reauthentication_code", ok=SIGNED_IN, status=302),  # no code asked for: ask first
    page("account_email", ok=SIGNED_IN),
    page("account_email_verification_sent", ok=EVERYONE),
    page("account_change_password", ok=SIGNED_IN),
    page("account_set_password", ok=SIGNED_IN, status=302),  # they have a password: on to changing it
    page("account_reset_password", ok=EVERYONE),
    page("account_reset_password_done", ok=EVERYONE),
    page("account_reset_password_from_key", kwargs=lambda w: {"uidb36": "1", "key": "not-a-key"}, ok=EVERYONE),
    page("account_reset_password_from_key_done", ok=EVERYONE),
    page("account_confirm_login_code", ok=EVERYONE, status=302),  # no sign-in by code under way
    page("account_confirm_email", kwargs=lambda w: {"key": "not-a-key"}, ok=EVERYONE),
    page("mfa_index", ok=SIGNED_IN),
    page("mfa_authenticate", ok=EVERYONE, status=302),  # no sign-in waiting for its second factor
    page("mfa_reauthenticate", ok=SIGNED_IN, status=302),  # no second factor: reauthenticate by password
    # Setting up a second factor asks for the password again first (none of the cast signed in just now).
    page("mfa_activate_totp", ok=SIGNED_IN, status=302),
    page("mfa_generate_recovery_codes", ok=SIGNED_IN, status=302),
    # About an authenticator the user does not have (none of the cast has one): nothing there.
    page("mfa_deactivate_totp", ok=SIGNED_IN, status=404),
    page("mfa_view_recovery_codes", ok=SIGNED_IN, status=404),
    page("mfa_download_recovery_codes", ok=SIGNED_IN, status=404),
]


# The admin: staff (is_staff and is_superuser) get in, everyone else is sent to the admin's login.
# For each registered model its changelist, add, change, delete and history pages, and the bare
# object URL (a redirect to its change page). Read-only admins (audit rows, what only the
# services write) answer staff 403 on add and delete, as their ModelAdmin declares.
ADMIN_VIEWS = ("changelist", "add", "history", "delete", "change")


def _staff_request():
    from django.test import RequestFactory

    from accounts.models import User

    request = RequestFactory().get("/admin/")
    request.user = User(email="staff@vendor.example", is_staff=True, is_superuser=True, is_active=True)
    return request


def admin(name: str, method: str = "GET", *, staff: int = 200, **kw) -> Row:
    return Row(name=name, method=method, ok=STAFF, status=staff, others=302, anonymous=302, kind="admin", **kw)


def admin_object(model) -> Callable[[World], dict]:
    def kwargs(w: World) -> dict:
        return {"object_id": w.admin_objects[model._meta.label].pk}

    return kwargs


def model_admin_rows() -> list[Row]:
    rows = []
    request = _staff_request()
    for model, model_admin in django_admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        may = {
            "add": model_admin.has_add_permission(request),
            "delete": model_admin.has_delete_permission(request),
        }
        for view in ADMIN_VIEWS:
            rows.append(admin(f"{prefix}_{view}", staff=200 if may.get(view, True) else 403,
                              kwargs=admin_object(model) if view in ("history", "delete", "change") else None))
        rows.append(admin("", label=f"{prefix} object", staff=302,
                          path=lambda w, m=model: f"/admin/{m._meta.app_label}/{m._meta.model_name}/"
                                                  f"{w.admin_objects[m._meta.label].pk}/"))
    return rows


ADMIN = [
    admin("admin:index"),
    # The login page takes no password: staff sign in through allauth (its MFA step and rate
    # limits), so anonymous callers are sent there; staff go on to the index; a signed-in user
    # who is not staff is refused.
    Row(name="admin:login", method="GET", ok=STAFF, status=302, others=403),
    admin("admin:logout", "POST", staff=302, fresh_session=True, records=False),  # signed out: to the login page
    admin("admin:password_change"),
    admin("admin:password_change_done"),
    admin("admin:jsi18n"),
    admin("admin:autocomplete",
          query=lambda w: {"app_label": "accounts", "model_name": "partnermembership", "field_name": "user"}),
    admin("admin:app_list", kwargs=lambda w: {"app_label": "accounts"}),
    # No model of the portal has a page of its own on the site: nothing to view there.
    admin("admin:view_on_site", staff=404,
          kwargs=lambda w: {"content_type_id": w.admin_objects["content_type:orders.order"],
                            "object_id": w.order.pk}),
    admin("admin:auth_user_password_change", kwargs=lambda w: {"id": w.users["no_role"].pk}),
    admin("", label="admin catch-all", staff=404, path=lambda w: "/admin/no-such-page/"),
    *model_admin_rows(),
]

PORTAL_ROWS: list[Row] = [*PORTAL_PAGES, *ALLAUTH, *ADMIN]

# The whole table, every app's rows (test_csrf.py and test_verified_email_required.py follow it too).
ROWS: list[Row] = [*PORTAL_ROWS, *ACCOUNTS_ROWS, *LICENSING_ROWS, *ORDERS_ROWS]

CELLS = [(row, caller) for row in ROWS for caller in row.callers]

# The cells run in the module's world (each in a savepoint of its own, see tests/role_matrix.py);
# the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("row", params(PORTAL_ROWS))
def test_role_matrix(world, row):
    """One row: every caller's cell, each failure named by URL, method and caller."""
    check_row(world, row)


# --- every URL has a row -----------------------------------------------------------------------


def url_patterns(resolver: URLResolver | None = None, prefix: str = ""):
    """(route, name) of every URL pattern, includes walked, routes spelled as `resolve().route`."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = URLResolver._join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route, pattern.name


def test_every_url_has_a_row(world):
    """A new page or endpoint fails here until the table says who may use it (and a row whose
    URL is gone fails too)."""
    covered = {}
    for row in ROWS:
        try:
            match = resolve(row.url(world).split("?")[0])
        except NoReverseMatch:
            pytest.fail(f"{row.id}: no such URL any more; update or remove its row")
        if row.name:
            name = f"{match.namespace}:{match.url_name}".lstrip(":")
            assert name == row.name, f"{row.id} resolves to {match.view_name}"
        covered[match.route] = row
    missing = sorted({f"{route}  (name: {name})" for route, name in url_patterns() if route not in covered})
    assert not missing, "URL patterns without a row in the role matrix:\n" + "\n".join(missing)


def test_the_table_is_large_enough_to_mean_something():
    assert len(ROWS) > 350 and len(CELLS) > 5000
