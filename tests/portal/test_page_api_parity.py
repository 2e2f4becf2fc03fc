"""Pages and the API apply one rule (DESIGN.md §3, through accounts/permissions.py): for every list
that is both a page and an endpoint, and for every caller of the role matrix (CALLERS of
tests/worlds/matrix.py),

- the page is refused exactly when the API is (404 where the API says 404, 403 where it says 403;
  a page sends an anonymous caller to the login page where the API answers 401);
- where both answer, the page shows exactly the objects the API returns (ids, or for lists of
  figures the figures themselves), every page of each walked.

A page that is not one list (an account's users page lists roles and, for SA admins, access
requests) counts a section it leaves out for a caller as refusing that list. The few pairs that
differ by design say so in `differs`, each with the reason beside it.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from rest_framework import generics

from accounts.models import AccessRequestStatus, VirtualAccount
from licensing.api.serializers import AlertPreferencesSerializer

from tests.worlds.matrix import CALLERS, SHIP_DAY, World, world  # noqa: F401 (world: the module-scoped fixture)

pytestmark = pytest.mark.django_db

# A period around the world's one day of usage snapshots (reconciliation).
PERIOD = {"start": (SHIP_DAY - datetime.timedelta(days=2)).isoformat(),
          "end": (SHIP_DAY + datetime.timedelta(days=20)).isoformat()}




# --- what a page and an endpoint answered -----------------------------------------------------


def _url(name: str, query: dict | None = None, **kwargs) -> str:
    return reverse(name, kwargs=kwargs or None) + ("?" + urlencode(query) if query else "")


def outcome_of_page(response) -> str:
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return "sign in"
    return {200: "shown", 403: "refused", 404: "not found"}.get(response.status_code, f"status {response.status_code}")


def outcome_of_api(response) -> str:
    return {200: "shown", 401: "sign in", 403: "refused", 404: "not found"}.get(
        response.status_code, f"status {response.status_code}")


def page_walk(client: Client, url: str, response, key: str = "page_obj") -> list:
    """The objects of every page of a paginated page (`?page=2`, …)."""
    page_obj = response.context[key]
    found = list(page_obj.object_list)
    for number in range(2, page_obj.paginator.num_pages + 1):
        found += list(client.get(url + ("&" if "?" in url else "?") + f"page={number}").context[key].object_list)
    return found


def ids_on_pages(client, url, response, w) -> set:
    return {obj.pk for obj in page_walk(client, url, response)}


def ids_in(key: str) -> Callable:
    return lambda client, url, response, w: {obj.pk for obj in response.context[key]}


def api_ids(results: list[dict]) -> set:
    return {row["id"] for row in results}


LINE_FIGURES = ("sku", "purchased", "in_use", "available", "shortage")
RECONCILIATION_FIGURES = ("sku", "peak_shortage", "peak_day", "days_in_shortage", "peak_in_use", "purchased_at_peak")


def figures_on_page(names: tuple) -> Callable:
    def read(client, url, response, w) -> set:
        return {
            tuple(v.isoformat() if isinstance(v, datetime.date) else v for v in (getattr(line, n) for n in names))
            for line in response.context["lines"]
        }
    return read


def figures_in_api(names: tuple) -> Callable:
    return lambda results: {tuple(row[name] for name in names) for row in results}


@dataclass(frozen=True)
class Pair:
    """A list that is a page and an endpoint. `apis` are the endpoint's URLs that together make
    the page's list (the page of a whole account against the endpoint of each of its Virtual
    Accounts): the API shows the list if one of them does, refuses it if one refuses, else none
    of them knows it."""

    name: str
    page: Callable[[World], str]
    shown: Callable  # (client, url, response, world) → what the page shows
    apis: Callable[[World], list[str]]
    returned: Callable[[list[dict]], set] = api_ids  # the results of every answer → what the API returns
    # A page answered 200 that leaves this list out for the caller: its outcome for the list.
    section: Callable[[object, World], str | None] | None = None
    api_outcome: Callable[[object], str] = outcome_of_api
    differs: dict = field(default_factory=dict)  # caller → (page, api) outcomes, by design

    def __str__(self) -> str:
        return self.name


def acme_vas(w: World) -> list[VirtualAccount]:
    return list(VirtualAccount.objects.filter(smart_account=w.acme))


def subtree_of(w: World, attr: str) -> list[VirtualAccount]:
    # From the database: the world's objects keep the tree fields they had when made.
    return list(VirtualAccount.objects.get(pk=getattr(w, attr).pk).get_descendants(include_self=True))


def named_in_query(response) -> str:
    """The page of a Virtual Account is addressed by it (404 when the caller does not see it);
    the endpoint is the account's, naming the Virtual Account in the query string: one the caller
    does not see is a field-keyed 400 there (DESIGN.md §5), the same refusal."""
    if response.status_code == 400 and "virtual_account" in response.json():
        return "not found"
    return outcome_of_api(response)


def sa_admins_only(response, w: World) -> str | None:
    # The users page is open to VA admins for their VA roles; access requests are the SA admins'.
    return None if response.context["is_sa_admin"] else "refused"


def own_partner_only(response, w: World) -> str | None:
    """The partner pages are about the caller's own partner (the distributor here): a user of
    another, or of none, has nothing of the distributor's there, as the API's 404 says."""
    partner = response.context.get("partner")
    return None if partner is not None and partner.pk == w.distributor.pk else "not found"


def partner_admins_only(response, w: World) -> str | None:
    return own_partner_only(response, w) or (None if response.context["is_partner_admin"] else "refused")


def virtual_account_tree(client, url, response, w) -> set:
    """The account home's tree, every level opened: (id, whether the caller may view it or sees
    it only on the path to their own Virtual Accounts)."""
    nodes, seen = list(response.context["nodes"]), {}
    while nodes:
        node = nodes.pop()
        seen[node.va.pk] = node.can_view
        if node.has_children and not node.expanded:
            children = client.get(reverse("portal:virtual_account_children", kwargs={"pk": w.acme.pk, "va_pk": node.va.pk}))
            nodes += [child for child in children.context["nodes"] if child.va.pk not in seen]
    return set(seen.items())


def held_lines_in_api(results: list[dict]) -> set:
    return {line["id"] for order in results for line in order["lines"] if line["state"] == "held"}


def pending_requests_in_api(results: list[dict]) -> set:
    return {row["id"] for row in results if row["status"] == AccessRequestStatus.PENDING}


def _hashable(data: dict) -> set:
    return {(key, tuple(value) if isinstance(value, list) else value) for key, value in data.items()}


def alert_preferences_on_page(client, url, response, w) -> set:
    return _hashable(AlertPreferencesSerializer(response.context["preferences"]).data)


def holding_members_on_page(client, url, response, w) -> set:
    return {m.pk for sa in response.context["accounts"] if sa.pk == w.dist_stock.pk for m in sa.members}


def usage_on_dashboard(client, url, response, w) -> set:
    return {(s.product.sku, tuple(zip((d.isoformat() for d in s.days), s.purchased, s.in_use, s.shortage)))
            for s in response.context["data"].series}


def usage_in_api(results: list[dict]) -> set:
    return {(row["sku"], tuple((p["day"], p["purchased"], p["in_use"], p["shortage"]) for p in row["points"]))
            for row in results}


def with_last_30_days(url: str) -> str:
    today = timezone.localdate()
    period = {"start": (today - datetime.timedelta(days=29)).isoformat(), "end": today.isoformat()}
    return url + ("&" if "?" in url else "?") + urlencode(period)


def with_period(url: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(PERIOD)


def scoped_pairs(name: str, list_name: str, shown: Callable, account_apis, va_apis, *, query: dict | None = None,
                 **kw) -> list[Pair]:
    """A licensing list per account, per Virtual Account with children (Left, the VA roles'),
    and per leaf (Left child)."""
    def page(**kwargs) -> Callable[[World], str]:
        return lambda w: _url(f"licensing:{list_name}", query, **{k: getattr(w, v).pk for k, v in kwargs.items()})

    return [
        Pair(f"{name} (account)", page(sa_pk="acme"), shown, account_apis, **kw),
        *[Pair(f"{name} ({label})", page(va_pk=attr), shown, lambda w, a=attr: va_apis(w, a), **kw)
          for label, attr in (("Left", "left"), ("Left child", "left_child"))],
    ]


# The partner pages are the caller's own partner's; staff, of no partner, manage every partner
# through the API (and the admin): their pages show none.
STAFF_MANAGE_PARTNERS_BY_API = {"staff": ("not found", "shown")}

PAIRS = [
    # Registration tokens: the endpoint is per Virtual Account (users up); the account's and a
    # subtree's page list the tokens of each of their Virtual Accounts the caller may operate in.
    *scoped_pairs(
        "tokens", "token_list", ids_on_pages,
        account_apis=lambda w: [_url("api:virtual_account_tokens", pk=va.pk) for va in acme_vas(w)],
        va_apis=lambda w, attr: [_url("api:virtual_account_tokens", pk=va.pk) for va in subtree_of(w, attr)],
    ),
    *scoped_pairs(
        "devices", "device_list", ids_on_pages,
        account_apis=lambda w: [_url("api:virtual_account_devices", pk=va.pk) for va in acme_vas(w)],
        va_apis=lambda w, attr: [_url("api:virtual_account_devices", {"subtree": "1"}, pk=getattr(w, attr).pk)],
    ),
    *scoped_pairs(
        "licenses", "license_list", figures_on_page(LINE_FIGURES),
        account_apis=lambda w: [_url("api:smart_account_licenses", pk=w.acme.pk)],
        va_apis=lambda w, attr: [_url("api:virtual_account_licenses", {"subtree": "1"}, pk=getattr(w, attr).pk)],
        returned=figures_in_api(LINE_FIGURES),
    ),
    *scoped_pairs(
        "events", "event_list", ids_on_pages,
        account_apis=lambda w: [_url("api:smart_account_events", pk=w.acme.pk)],
        va_apis=lambda w, attr: [_url("api:smart_account_events", {"virtual_account": getattr(w, attr).pk},
                                      pk=w.acme.pk)],
        api_outcome=named_in_query,
    ),
    *scoped_pairs(
        "reconciliation", "reconciliation", figures_on_page(RECONCILIATION_FIGURES), query=PERIOD,
        account_apis=lambda w: [with_period(_url("api:smart_account_reconciliation", pk=w.acme.pk))],
        va_apis=lambda w, attr: [with_period(_url("api:smart_account_reconciliation",
                                                  {"virtual_account": getattr(w, attr).pk}, pk=w.acme.pk))],
        returned=figures_in_api(RECONCILIATION_FIGURES), api_outcome=named_in_query,
    ),
    # The dashboards' usage chart: the last 30 days, per product.
    *scoped_pairs(
        "usage history", "dashboard", usage_on_dashboard, query={"days": 30},
        account_apis=lambda w: [with_last_30_days(_url("api:smart_account_usage_history", pk=w.acme.pk))],
        va_apis=lambda w, attr: [with_last_30_days(_url("api:smart_account_usage_history",
                                                        {"virtual_account": getattr(w, attr).pk}, pk=w.acme.pk))],
        returned=usage_in_api, api_outcome=named_in_query,
    ),
    Pair("classic licenses (PAKs)", lambda w: _url("licensing:classic_license_list", sa_pk=w.acme.pk), ids_on_pages,
         lambda w: [_url("api:smart_account_classic_licenses", pk=w.acme.pk)]),
    Pair("alert preferences", lambda w: _url("licensing:alert_preferences", sa_pk=w.acme.pk),
         alert_preferences_on_page, lambda w: [_url("api:alert_preferences", pk=w.acme.pk)],
         returned=lambda results: {item for row in results for item in _hashable(row)}),
    Pair("virtual accounts", lambda w: _url("portal:smart_account_detail", pk=w.acme.pk), virtual_account_tree,
         lambda w: [_url("api:virtual_account_list", pk=w.acme.pk)],
         returned=lambda results: {(row["id"], row["visible"]) for row in results}),
    Pair("roles", lambda w: _url("accounts:smart_account_users", pk=w.acme.pk),
         lambda client, url, response, w: {str(r.pk) for r in [*response.context["sa_roles"],
                                                               *response.context["va_roles"]]},
         lambda w: [_url("api:role_list", pk=w.acme.pk)]),
    Pair("access requests of an account", lambda w: _url("accounts:smart_account_users", pk=w.acme.pk),
         ids_in("requests"), lambda w: [_url("api:access_request_list", {"status": "pending"}, pk=w.acme.pk)],
         section=sa_admins_only),
    Pair("my access requests", lambda w: _url("accounts:smart_account_list"), ids_in("pending_requests"),
         lambda w: [_url("api:my_access_request_list")], returned=pending_requests_in_api),
    Pair("smart accounts", lambda w: _url("accounts:smart_account_list"), ids_in("accounts"),
         lambda w: [_url("api:smart_account_list")]),
    Pair("orders", lambda w: _url("orders:order_list"), ids_on_pages, lambda w: [_url("api:order_list")]),
    Pair("held lines", lambda w: _url("orders:held_line_list"), ids_on_pages,
         lambda w: [_url("api:order_list", {"state": "held"})], returned=held_lines_in_api),
    Pair("delegated lines", lambda w: _url("orders:delegated_line_list"), ids_in("lines"),
         lambda w: [_url("api:order_line_delegated_list")]),
    Pair("support cases", lambda w: _url("accounts:support_case_list"), ids_in("cases"),
         lambda w: [_url("api:support_case_list")]),
    Pair("api keys", lambda w: _url("accounts:api_key_list"), ids_in("keys"), lambda w: [_url("api:api_key_list")]),
    # A case's thread: the page is its owner's; staff answer cases in the admin and through the API.
    Pair("support case messages", lambda w: _url("accounts:support_case_detail", pk=w.support_case.pk),
         lambda client, url, response, w: {m.pk for m in response.context["thread"]},
         lambda w: [_url("api:support_case_detail", pk=w.support_case.pk)],
         returned=lambda results: {m["id"] for case in results for m in case["messages"]},
         differs={"staff": ("not found", "shown")}),
    # The partner page is the caller's own partner (none: an empty page); staff list every partner.
    Pair("partners", lambda w: _url("accounts:partner_detail"),
         lambda client, url, response, w: {response.context["partner"].pk} if response.context.get("partner") else set(),
         lambda w: [_url("api:partner_list")], differs={"staff": ("shown", "shown")}),
    Pair("partner members", lambda w: _url("accounts:partner_detail"), ids_in("members"),
         lambda w: [_url("api:partner_member_list", pk=w.distributor.pk)],
         section=own_partner_only, differs=STAFF_MANAGE_PARTNERS_BY_API),
    Pair("partner invitations", lambda w: _url("accounts:partner_detail"), ids_in("invitations"),
         lambda w: [_url("api:partner_invitation_list", pk=w.distributor.pk)],
         section=partner_admins_only, differs=STAFF_MANAGE_PARTNERS_BY_API),
    Pair("holding account members", lambda w: _url("accounts:holding_account_list"), holding_members_on_page,
         lambda w: [_url("api:holding_member_list", pk=w.dist_stock.pk)],
         section=own_partner_only, differs=STAFF_MANAGE_PARTNERS_BY_API),
    Pair("partner customers", lambda w: _url("accounts:partner_customer_list"),
         lambda client, url, response, w: {str(row.pk) for row in response.context["roles"]},
         lambda w: [_url("api:partner_customer_list", pk=w.distributor.pk)],
         section=own_partner_only, differs=STAFF_MANAGE_PARTNERS_BY_API),
]


# --- asking both -----------------------------------------------------------------------------


def _api_get(world: World, caller: str, url: str):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {world.api_keys[caller]}"} if caller != "anonymous" else {}
    return Client().get(url + ("&" if "?" in url else "?") + "page_size=500", **extra)


def _api_outcome(outcomes: list[str]) -> str | None:
    """The API's answer for the list: shown by one endpoint, else refused by one, else the one
    answer all gave (None when they disagree otherwise)."""
    for outcome in ("shown", "refused"):
        if outcome in outcomes:
            return outcome
    return outcomes[0] if len(set(outcomes)) == 1 else None


def _results(answers) -> list[dict]:
    results = []
    for answer in answers:
        if answer.status_code != 200:
            continue
        body = answer.json()
        if isinstance(body, dict) and "results" in body:
            assert body["next"] is None, "more than one API page: make the world's list smaller"
            results += body["results"]
        else:
            results.append(body)
    return results


def compare(pair: Pair, world: World, caller: str) -> str:
    """What differs between the page and the API for one caller ("" if nothing)."""
    client = world.clients[caller]
    url = pair.page(world)
    response = client.get(url)
    page = outcome_of_page(response)
    if page == "shown" and pair.section is not None:
        page = pair.section(response, world) or page

    answers = [_api_get(world, caller, api_url) for api_url in pair.apis(world)]
    api = _api_outcome([pair.api_outcome(answer) for answer in answers])
    statuses = f"page {response.status_code}, API {[a.status_code for a in answers]}"
    if caller in pair.differs:
        expected = pair.differs[caller]
        return "" if (page, api) == expected else f"by design page {expected[0]}, API {expected[1]}: {statuses}"
    if page != api:
        return f"page {page}, API {api}: {statuses}"
    if page != "shown":
        return ""
    on_page, in_api = pair.shown(client, url, response, world), pair.returned(_results(answers))
    if on_page != in_api:
        return (f"only on the page: {sorted(map(str, on_page - in_api))}; "
                f"only in the API: {sorted(map(str, in_api - on_page))}")
    return ""


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("pair", PAIRS, ids=str)
def test_a_page_shows_what_the_api_returns_to_the_same_caller(world, pair, caller):
    with transaction.atomic():
        problem = compare(pair, world, caller)
        transaction.set_rollback(True)
    assert not problem, f"{pair.name} as {caller}: {problem}"


# The API's lists that no page shows, and why.
NO_PAGE = {
    "api:product_list": "the catalogue: staff keep it in the admin, pages offer products in the order form only",
}


def _api_list_endpoints(resolver: URLResolver | None = None, namespace: str = ""):
    """The URL names of the API's list endpoints (DRF list views)."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_list_endpoints(pattern, ":".join(filter(None, [namespace, pattern.namespace])))
        elif isinstance(pattern, URLPattern) and namespace == "api":
            if issubclass(getattr(pattern.callback, "view_class", object), generics.ListAPIView):
                yield f"api:{pattern.name}"


def test_every_list_of_the_api_is_compared_with_its_page(world):
    """A new list endpoint fails here until it is paired with its page (or said to have none)."""
    compared = {resolve(url.split("?")[0]).view_name for pair in PAIRS for url in pair.apis(world)}
    missing = set(_api_list_endpoints()) - compared - set(NO_PAGE)
    assert not missing, f"list endpoints without a page to compare with: {sorted(missing)}"
