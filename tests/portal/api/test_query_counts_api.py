"""DESIGN.md §6: every list endpoint runs a number of queries that does not grow with the data.

Each test adds 2 rows of what the endpoint lists, counts the queries of one request, adds rows up
to 20, counts again, and asserts the counts agree (session and API-key callers alike).
"""
from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone

from accounts.models import Role

from tests.factories import (
    AccessRequestFactory,
    ApiKeyFactory,
    EventFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    SmartAccountRoleFactory,
    SupportCaseFactory,
    SupportMessageFactory,
    UserFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)
from tests import querycount
from tests.querycount import assert_constant

pytestmark = pytest.mark.django_db

def at_two_sizes(client, grow: Callable[[int, int], None], url: str, check: Callable) -> tuple[int, int]:
    """tests.querycount.at_two_sizes, with the check given the JSON body."""
    return querycount.at_two_sizes(client, grow, url, check=lambda response, n: check(response.json(), n))


def rows(body) -> list:
    return body["results"] if isinstance(body, dict) and "results" in body else body


@pytest.mark.parametrize("key", [False, True], ids=["session", "api key"])
def test_my_api_keys(api_as, key):
    user = UserFactory()
    client = api_as(user, key=key)
    base = 1 if key else 0  # the caller's own key is listed too

    def grow(start, stop):
        for i in range(start, stop):
            ApiKeyFactory(user=user, revoked_at=timezone.now() if i % 3 == 0 else None,
                          last_used_at=timezone.now() if i % 2 else None)

    small, large = at_two_sizes(client, grow, "/api/v1/me/api-keys/",
                                lambda body, n: _count(rows(body), n + base, body))
    assert_constant(small, large, f"GET /api/v1/me/api-keys/ ({'key' if key else 'session'})")


def _count(items: list, expected: int, body) -> None:
    total = body.get("count", len(items)) if isinstance(body, dict) else len(items)
    assert total == expected, (total, expected)


@pytest.mark.parametrize("who", ["user", "staff all"])
def test_support_cases(api_as, who):
    user = UserFactory()
    staff = UserFactory(is_staff=True, powers="all")
    caller = user if who == "user" else staff
    client = api_as(caller, key=True)
    url = "/api/v1/support-cases/" + ("?all=true" if who == "staff all" else "")

    def grow(start, stop):
        for i in range(start, stop):
            owner = user if who == "user" else UserFactory()
            sa = SmartAccountFactory()
            case = SupportCaseFactory(user=owner, smart_account=sa if i % 2 else None, order_number=f"SO-{i}")
            SupportMessageFactory(case=case)
            SupportMessageFactory(case=case, author=staff, from_staff=True)

    small, large = at_two_sizes(client, grow, url, lambda body, n: _count(rows(body), n, body))
    assert_constant(small, large, f"GET {url}")


def test_my_data(api_as):
    user = UserFactory(email="dana@data.example")
    partner = PartnerFactory()
    PartnerMembershipFactory(partner=partner, user=user)
    client = api_as(user, key=True)
    staff = UserFactory(is_staff=True, powers="all")

    def grow(start, stop):
        for i in range(start, stop):
            sa = SmartAccountFactory()
            SmartAccountRoleFactory(user=user, content_object=sa, role=Role.SA_ADMIN if i % 2 else Role.SA_VIEWER)
            va = VirtualAccountFactory(parent=sa.default_virtual_account)
            VirtualAccountRoleFactory(user=user, content_object=va, role=Role.VA_USER)
            HoldingMembershipFactory(user=user, smart_account=HoldingAccountFactory(partner=partner))
            request = AccessRequestFactory(requester=user, smart_account=sa)
            request.requested_virtual_accounts.add(va, sa.default_virtual_account)
            case = SupportCaseFactory(user=user, smart_account=sa if i % 2 else None)
            SupportMessageFactory(case=case)
            SupportMessageFactory(case=case, author=staff, from_staff=True, body=f"Ask {staff.email}")
            EventFactory(smart_account=sa, actor=user, virtual_account=va if i % 2 else None)
            ApiKeyFactory(user=user)

    def check(body, n):
        lengths = {k: len(body[k]) for k in ("roles", "holding_memberships", "access_requests", "support_cases",
                                             "events", "api_keys")}
        assert lengths == {"roles": 2 * n, "holding_memberships": n, "access_requests": n, "support_cases": n,
                           "events": n, "api_keys": n + 1}, lengths
        assert all(len(case["messages"]) == 2 for case in body["support_cases"])

    small, large = at_two_sizes(client, grow, "/api/v1/me/data/", check)
    assert_constant(small, large, "GET /api/v1/me/data/")
