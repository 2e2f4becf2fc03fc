"""The role matrix's harness (DESIGN.md §3): the callers grouped by role, a `Row` per URL and
method, and the runner that asks every caller's cell of a row. The rows live beside each app's
tests (tests/<app>/test_role_matrix.py); tests/portal/test_role_matrix.py holds portal's own and
checks that every URL pattern of the project has a row in one of them.

How a cell is decided: a row names who may (`ok`, answered `status`), and of the others who may
still see the object (`sees`: 403, "visible but not allowed"); everyone else gets 404 (no
existence leak). Anonymous callers are sent to the login page (302) by pages and get 401 from the
API. `odd` names the few callers answered otherwise, each with the reason beside it.

Every request runs in a savepoint that is rolled back, so each cell meets the same world
(tests/worlds/matrix.py, built once per module). The bodies of writes are valid: an allowed
write really happens (an Event is recorded, or what the row's `effect` measures changes), a
refused one changes nothing.

A test per row (every column asked in it, each failure named by URL, method and caller) keeps the
thousands of cells quick: each module parametrizes its test with `params(rows)` and runs a row
with `check_row`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import (
    ApiKey,
    Event,
    Invitation,
    InvitationPurpose,
    PartnerMembership,
    SupportCase,
    SupportMessage,
    User,
)

from tests.reauth import reauthenticate
from tests.worlds.matrix import CALLERS, World

# --- who: the role groups --------------------------------------------------------------------

EVERYONE = frozenset(CALLERS)
SIGNED_IN = EVERYONE - {"anonymous"}
STAFF = frozenset({"staff"})
SA_ADMINS = STAFF | {"sa_admin"}
SA_OPERATORS = SA_ADMINS | {"sa_user"}
SA_READERS = SA_OPERATORS | {"sa_viewer"}
# The right subtree: VA roles on Left, for Left child and everything in it.
LEFT_ADMINS = SA_ADMINS | {"va_admin"}
LEFT_OPERATORS = SA_OPERATORS | {"va_admin", "va_user"}
LEFT_READERS = SA_READERS | {"va_admin", "va_user", "va_viewer"}
SIBLINGS = frozenset({"va_viewer_sibling", "va_user_sibling", "va_admin_sibling"})
SIBLING_OPERATORS = frozenset({"va_user_sibling", "va_admin_sibling"})
# Whoever holds a role in Acme (and staff): they see the account and their part of it.
ACCOUNT = LEFT_READERS | SIBLINGS
OPERATORS_ANYWHERE = LEFT_OPERATORS | SIBLING_OPERATORS
ADMINS_ANYWHERE = LEFT_ADMINS | {"va_admin_sibling"}
# The distributor's users; its admin is the partner without consent (no role in Acme).
PARTNER_ADMIN = frozenset({"partner_no_consent"})
DISTRIBUTOR = PARTNER_ADMIN | {"holding_member"}
# HOLD on the holding account: its member, its partner's admin, staff.
HOLDERS = DISTRIBUTOR | STAFF
OWNER = frozenset({"sa_user"})  # owns the support case and the spare API key

# Forms re-rendered with an error (200, nothing changed) where a caller may use the page but not
# choose what the body names: the choices offered are only their own Virtual Accounts.
NOT_AMONG_THE_CHOICES = 200
# The API answers a body naming something the caller cannot see like one naming an unknown id:
# a field-keyed 400, no existence leak (the URL's own object is the 404 case).
NAMED_IN_THE_BODY = 400


@dataclass(frozen=True)
class Row:
    name: str  # URL name ("licensing:license_list"), or "" with `path`
    method: str
    ok: frozenset
    sees: frozenset = frozenset()
    status: int = 200
    kwargs: Callable[[World], dict] | None = None
    # URL kwargs made for each caller (a reference signed for them), instead of `kwargs`.
    caller_kwargs: Callable[[World, str], dict] | None = None
    query: Callable[[World], dict] | None = None
    # A query made for each caller (a reference signed for them), instead of `query`.
    caller_query: Callable[[World, str], dict] | None = None
    body: Callable[[World, str], dict] | None = None
    odd: dict = field(default_factory=dict)  # caller → status, with a comment at the row
    others: int = 404  # signed-in callers neither allowed nor seeing
    label: str = ""  # tells two rows of one URL apart
    kind: str = ""  # "admin" for the admin's pages (refused callers go to its own login)
    path: Callable[[World], str] | None = None  # for unnamed patterns
    fresh_session: bool = False  # the request ends the session (logout, closing the account)
    # Asked of a session that just confirmed the password (minting API keys, closing the account);
    # the same URLs have rows without it, where every caller is refused.
    reauthenticated: bool = False
    anonymous: int | None = None
    # What a write changes, measured before and after: the event log unless said otherwise. An
    # allowed write must change it (it really happened), a refused one must not.
    effect: Callable[[], object] | None = None
    records: bool | None = None  # whether an allowed call must change `effect` (default: writes)
    callers: tuple = CALLERS  # the columns asked (all, but for the schema)

    def __post_init__(self) -> None:
        if self.records is None:
            object.__setattr__(self, "records", self.method != "GET" and self.status < 400)

    @property
    def api(self) -> bool:
        return self.name.startswith("api:")

    @property
    def id(self) -> str:
        if not self.name:
            return f"{self.method} {self.label}"
        return f"{self.method} {self.name}{f'[{self.label}]' if self.label else ''}"

    def expected(self, caller: str) -> int:
        if caller in self.odd:
            return self.odd[caller]
        if caller in self.ok:
            return self.status
        if caller == "anonymous":
            if self.anonymous is not None:
                return self.anonymous
            return 401 if self.api else 302
        if caller in self.sees:
            return 403
        return self.others

    def url(self, world: World, caller: str = "no_role") -> str:
        if self.path:
            url = self.path(world)
        elif self.caller_kwargs:
            url = reverse(self.name, kwargs=self.caller_kwargs(world, caller))
        else:
            url = reverse(self.name, kwargs=self.kwargs(world) if self.kwargs else None)
        if self.caller_query:
            url += "?" + urlencode(self.caller_query(world, caller), doseq=True)
        elif self.query:
            url += "?" + urlencode(self.query(world), doseq=True)
        return url


def page(name: str, method: str = "GET", **kw) -> Row:
    return Row(name=name, method=method, **kw)


api = page  # an API row: the name starts with "api:"

# --- what: kwargs and bodies -------------------------------------------------------------------


def pk(attr: str, key: str = "pk") -> Callable[[World], dict]:
    """URL kwargs naming one object of the world: `pk("left_child", "va_pk")`."""
    return lambda w: {key: getattr(w, attr).pk}


def token(attr: str) -> Callable[[World], dict]:
    return lambda w: {"token": getattr(w, attr)}


def fixed(data: dict) -> Callable[[World, str], dict]:
    """A body that is the same for every caller."""
    return lambda w, c: data


def acme(w: World) -> dict:
    return {"pk": w.acme.pk}


def acme_sa(w: World) -> dict:
    return {"sa_pk": w.acme.pk}


def left_child_va(w: World) -> dict:
    return {"va_pk": w.left_child.pk}


def email_of(w: World, caller: str) -> str:
    """The caller's own email (anonymous callers are turned away before a body is read)."""
    return w.users[caller].email if caller in w.users else "anonymous@example.org"


def domain_of(w: World, caller: str) -> str:
    return email_of(w, caller).rsplit("@", 1)[1]


# What the writes that are no account's business change (the others record an Event).


def api_keys() -> int:
    return ApiKey.objects.count()


def revoked_api_keys() -> int:
    return ApiKey.objects.filter(revoked_at__isnull=False).count()


def support_cases() -> tuple:
    return tuple(SupportCase.objects.order_by("pk").values_list("pk", "status"))


def support_messages() -> int:
    return SupportMessage.objects.count()


def partner_memberships() -> tuple:
    return tuple(PartnerMembership.objects.order_by("pk").values_list("pk", "partner_id", "is_admin"))


def partner_invitations() -> tuple:
    return tuple(Invitation.objects.filter(purpose=InvitationPurpose.JOIN_PARTNER).order_by("pk")
                 .values_list("pk", "used_at", "expires_at"))


def closed_users() -> int:
    return User.objects.filter(closed_at__isnull=False).count()


# --- running a cell --------------------------------------------------------------------------


def _body(row: Row, world: World, caller: str) -> dict:
    return row.body(world, caller) if row.body else {}


def call(row: Row, world: World, caller: str):
    """One request as `caller`, inside a savepoint rolled back afterwards; the response and
    whether it changed what the row's `effect` measures."""
    url = row.url(world, caller)
    effect = row.effect or Event.objects.count
    with transaction.atomic():
        before = effect()
        if row.reauthenticated and caller != "anonymous":
            client, extra = Client(), {}
            client.force_login(world.users[caller])
            reauthenticate(client)
            before = effect()
        elif row.api and caller != "anonymous":
            client, extra = Client(), {"HTTP_AUTHORIZATION": f"Bearer {world.api_keys[caller]}"}
        elif row.fresh_session and caller != "anonymous":
            client, extra = Client(), {}
            client.force_login(world.users[caller])
        else:
            client, extra = world.clients[caller], {}
        method = row.method.lower()
        if row.api and method != "get":
            response = getattr(client, method)(url, json.dumps(_body(row, world, caller)),
                                               content_type="application/json", **extra)
        elif method == "get":
            response = client.get(url, **extra)
        else:
            response = getattr(client, method)(url, _body(row, world, caller), **extra)
        changed = effect() != before
        transaction.set_rollback(True)
    return response, changed


def describe(response) -> str:
    location = response.get("Location", "")
    body = b"" if getattr(response, "streaming", False) else response.content[:300]
    return f"{response.status_code} {location} {body!r}"


def check(row: Row, world: World, caller: str) -> str:
    """What is wrong with one cell ("" if nothing)."""
    response, changed = call(row, world, caller)
    expected = row.expected(caller)
    if response.status_code != expected:
        return f"expected {expected}, got {describe(response)}"
    if expected == 302 and caller not in row.ok and (caller == "anonymous" or row.kind == "admin"):
        # Turned away to the login page (the admin's own, for its pages).
        login = "/admin/" if row.kind == "admin" else reverse("account_login")
        if not response["Location"].startswith(login):
            return f"sent to {response['Location']}, not to the login page"
    if (caller not in row.ok or expected >= 400) and changed:
        return f"refused ({response.status_code}) but it changed something"
    if caller in row.ok and row.records and not changed:
        return f"allowed ({response.status_code}) but nothing happened"
    if "no-store" not in response.get("Cache-Control", ""):
        # PAKs, license keys, secrets, prices: no answer of the portal may stay in a cache.
        return f"may be cached: Cache-Control {response.get('Cache-Control')!r}"
    return ""


def params(rows: list[Row]) -> list:
    """The pytest parameters of a module's rows, each named by its id."""
    return [pytest.param(row, id=row.id) for row in rows]


def check_row(world: World, row: Row) -> None:
    """One row: every caller's cell, each failure named by URL, method and caller."""
    failures = []
    for caller in row.callers:
        try:
            problem = check(row, world, caller)
        except Exception as exc:  # a 500: report it with the other cells of the row
            problem = f"raised {exc!r}"
        if problem:
            failures.append(f"{row.id} as {caller}: {problem}")
    assert not failures, "\n".join(failures)
