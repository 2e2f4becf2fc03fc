"""The DESIGN.md §3 role table, endpoint by endpoint, for the account endpoints of the API.

Each row is one endpoint acting on Acme (the target Virtual Account is Finance, or Sacramento to
delete, both inside US), each column a member of the cast of `acme_world`: SA roles, VA roles on
US (the right subtree) and on EMEA (a sibling subtree), no role, a holding-account member,
anonymous, staff. Invisible → 404, visible but not allowed → 403, anonymous → 401; a refused
call changes nothing (no event is written).
"""
from __future__ import annotations

import pytest

from accounts.models import Event, Role

from ..factories import AccessRequestFactory, PartnerMembershipFactory, UserFactory, VirtualAccountRoleFactory
from .acme_world import CAST, acme, call_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

# A VA admin of the sibling subtree (EMEA) who names Finance in a body names something it cannot
# see: the body is answered like one naming an unknown id (400 keyed by that field, no leak).
# fmt: off
#                             sa_adm sa_usr sa_vw va_adm va_usr va_vw sibA sibU sibV none hold anon staff
MATRIX = {
    "smart_account_search":     (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200),
    "smart_account_list":       (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401, 200),
    "smart_account_detail":     (200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404, 401, 200),
    "access_request_create":    (201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 401, 201),
    "access_request_list":      (200, 403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 401, 200),
    "access_request_approve":   (200, 403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 401, 200),
    "access_request_deny":      (200, 403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 401, 200),
    "role_list":                (200, 403, 403, 200, 403, 403, 200, 403, 403, 404, 404, 401, 200),
    "role_grant_on_finance":    (201, 403, 403, 201, 403, 403, 400, 403, 403, 404, 404, 401, 201),
    "role_revoke_on_finance":   (204, 403, 403, 204, 403, 403, 403, 403, 403, 404, 404, 401, 204),
    "virtual_account_list":     (200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404, 401, 200),
    "virtual_account_create":   (201, 403, 403, 201, 403, 403, 400, 403, 403, 404, 404, 401, 201),
    "virtual_account_detail":   (200, 200, 200, 200, 200, 200, 404, 404, 404, 404, 404, 401, 200),
    "virtual_account_update":   (200, 403, 403, 200, 403, 403, 404, 404, 404, 404, 404, 401, 200),
    "virtual_account_delete":   (204, 403, 403, 204, 403, 403, 404, 404, 404, 404, 404, 401, 204),
    "holding_member_list":      (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 200, 401, 200),
    "holding_member_add":       (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 403, 401, 201),
}
# fmt: on


def request_for(endpoint: str, w) -> tuple[str, str, dict | None]:
    """(method, url, body) of one valid call of `endpoint` in the world `w`."""
    sa = f"/api/v1/smart-accounts/{w.sa.pk}"
    if endpoint == "smart_account_search":
        return "get", "/api/v1/smart-accounts/?domain=acme.com", None
    if endpoint == "smart_account_list":
        return "get", "/api/v1/smart-accounts/", None
    if endpoint == "smart_account_detail":
        return "get", f"{sa}/", None
    if endpoint == "access_request_create":
        return "post", f"{sa}/access-requests/", {"message": "We run the Sacramento office."}
    if endpoint == "access_request_list":
        return "get", f"{sa}/access-requests/", None
    if endpoint in ("access_request_approve", "access_request_deny"):
        pending = AccessRequestFactory(smart_account=w.sa, requester=UserFactory(email="applicant@acme.com"))
        if endpoint == "access_request_approve":
            return "post", f"/api/v1/access-requests/{pending.pk}/approve/", {"role": "sa_viewer"}
        return "post", f"/api/v1/access-requests/{pending.pk}/deny/", {"reason": "Ask your manager."}
    if endpoint == "role_list":
        return "get", f"{sa}/roles/", None
    if endpoint == "role_grant_on_finance":
        newcomer = UserFactory(email="newcomer@acme.com")
        body = {"user_email": newcomer.email, "role": "va_viewer", "virtual_account": w.finance.pk}
        return "post", f"{sa}/roles/", body
    if endpoint == "role_revoke_on_finance":
        row = VirtualAccountRoleFactory(user=UserFactory(), content_object=w.finance, role=Role.VA_VIEWER)
        return "delete", f"/api/v1/roles/{row.pk}/", None
    if endpoint == "virtual_account_list":
        return "get", f"{sa}/virtual-accounts/", None
    if endpoint == "virtual_account_create":
        return "post", f"{sa}/virtual-accounts/", {"name": "Payroll", "parent": w.finance.pk}
    if endpoint == "virtual_account_detail":
        return "get", f"/api/v1/virtual-accounts/{w.finance.pk}/", None
    if endpoint == "virtual_account_update":
        return "patch", f"/api/v1/virtual-accounts/{w.finance.pk}/", {"name": "Finance and Operations"}
    if endpoint == "virtual_account_delete":
        return "delete", f"/api/v1/virtual-accounts/{w.sacramento.pk}/", None
    holding = f"/api/v1/smart-accounts/{w.holding.pk}/holding-members/"
    if endpoint == "holding_member_list":
        return "get", holding, None
    if endpoint == "holding_member_add":
        colleague = PartnerMembershipFactory(partner=w.partner, user=UserFactory(email="new@acme-resellers.example"))
        return "post", holding, {"email": colleague.user.email, "notify": True}
    raise AssertionError(endpoint)


CASES = [
    pytest.param(endpoint, caller, expected, id=f"{endpoint}-{caller}")
    for endpoint, row in MATRIX.items()
    for caller, expected in zip(CAST, row, strict=True)
]


@pytest.mark.parametrize("endpoint, caller, expected", CASES)
def test_role_table_holds_for_every_account_endpoint(endpoint, caller, expected, acme, call_as):
    method, url, body = request_for(endpoint, acme)
    events_before = Event.objects.count()
    send = getattr(call_as(caller), method)
    response = send(url) if body is None else send(url, body, format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert Event.objects.count() == events_before  # refused: nothing happened
        if expected == 400:
            assert list(response.json()) in (["virtual_account"], ["parent"])
