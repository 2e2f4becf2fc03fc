"""DESIGN.md §2: a verified email is required to act on accounts. A user who has not verified
theirs (holding an API key, or signed in some other way than allauth's login, which would stop
them) may still read what their roles show, but every action on an account is refused with one
clear message and changes nothing: the rule is made in accounts.permissions alone.

The requests are those of the role matrix (tests/portal/test_role_matrix.py), in its world, made
by a caller the matrix shows allowed, once with the caller's email unverified (refused) and once
as it is (done): the refusal is the email's doing, not the role's.
"""
from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction

from .test_role_matrix import ROWS, Row, api, call, pk, world  # noqa: F401 (world: the module's fixture)

pytestmark = pytest.mark.django_db

VERIFY_EMAIL_FIRST = "Verify your email address before acting on accounts."

BY_ID = {row.id: row for row in ROWS}


def move_left_child_under_right(w, c) -> dict:
    return {"parent": w.right.pk}


# (row id of the role matrix, the caller who may do it)
API_ACTIONS = [
    ("POST api:smart_account_list", "no_role"),  # create an account
    ("POST api:smart_account_activate", "sa_admin"),
    ("PATCH api:smart_account_detail", "sa_admin"),  # account settings: the default VA
    ("POST api:access_request_list", "no_role"),  # ask for access
    ("POST api:access_request_approve", "sa_admin"),
    ("POST api:access_request_deny", "sa_admin"),
    ("POST api:role_list", "sa_admin"),  # grant a role
    ("DELETE api:role_detail", "sa_admin"),  # revoke it
    ("POST api:virtual_account_list", "sa_admin"),  # create a VA
    ("PATCH api:virtual_account_detail", "sa_admin"),  # rename it
    ("PATCH api:virtual_account_detail[move]", "sa_admin"),
    ("DELETE api:virtual_account_detail", "sa_admin"),
    ("POST api:license_transfer", "sa_admin"),
    ("POST api:virtual_account_tokens", "sa_admin"),
    ("DELETE api:token_detail", "sa_admin"),
    ("PATCH api:device_detail", "sa_admin"),  # move a device
    ("DELETE api:device_detail", "sa_admin"),
    ("POST api:classic_license_register", "sa_admin"),
    ("POST api:classic_license_convert", "sa_admin"),
    ("PATCH api:alert_preferences", "sa_admin"),
    ("POST api:order_list", "holding_member"),  # place an order
    ("POST api:order_line_move[held]", "holding_member"),
    ("POST api:order_line_move[delegated]", "sa_admin"),
    ("POST api:partner_member_list", "partner_no_consent"),  # invite a member
    ("PATCH api:partner_member_detail", "partner_no_consent"),
    ("POST api:partner_invitation_accept", "no_role"),  # join a partner
    ("POST api:holding_member_list", "partner_no_consent"),
]

# The pages that show a service's refusal on their form (200) rather than as a 403 page.
FORM_PAGES = {"POST accounts:smart_account_create", "POST orders:order_place"}
PAGE_ACTIONS = [
    ("POST accounts:smart_account_create", "no_role"),
    ("POST accounts:smart_account_activate", "sa_admin"),
    ("POST accounts:role_grant", "sa_admin"),
    ("POST accounts:access_request_approve", "sa_admin"),
    ("POST accounts:virtual_account_create", "sa_admin"),
    ("POST accounts:virtual_account_delete", "sa_admin"),
    ("POST licensing:license_transfer[account]", "sa_admin"),
    ("POST licensing:token_create[virtual account]", "sa_admin"),
    ("POST licensing:device_remove", "sa_admin"),
    ("POST licensing:classic_license_register", "sa_admin"),
    ("POST licensing:alert_preferences", "sa_admin"),
    ("POST orders:order_place", "holding_member"),
    ("POST orders:held_line_move", "holding_member"),
    ("POST accounts:partner_member_invite", "partner_no_consent"),
    ("POST accounts:holding_account_create", "holding_member"),
]

EXTRA_ROWS = {
    "PATCH api:virtual_account_detail[move]": api(
        "api:virtual_account_detail", "PATCH", label="move", kwargs=pk("left_child"), ok=frozenset({"sa_admin"}),
        body=move_left_child_under_right),
}


def _row(row_id: str) -> Row:
    return EXTRA_ROWS.get(row_id) or BY_ID[row_id]


def _unverified_call(row: Row, world, caller: str):
    with transaction.atomic():
        EmailAddress.objects.filter(user=world.users[caller]).update(verified=False)
        response, changed = call(row, world, caller)
        transaction.set_rollback(True)
    return response, changed


@pytest.mark.parametrize("row_id, caller", API_ACTIONS + PAGE_ACTIONS, ids=[r for r, _ in API_ACTIONS + PAGE_ACTIONS])
def test_an_unverified_user_cannot_act_on_accounts(world, row_id, caller):  # noqa: F811
    row = _row(row_id)
    assert caller in row.ok, "the matrix must allow this caller"

    response, changed = _unverified_call(row, world, caller)

    expected = 200 if row_id in FORM_PAGES else 403
    assert response.status_code == expected, response.content[:500]
    assert not changed
    if row.api:
        assert response.json() == {"detail": VERIFY_EMAIL_FIRST}
    else:
        assert VERIFY_EMAIL_FIRST in response.content.decode()
    # The same request with the email verified is done: it was the email that stopped it.
    response, changed = call(row, world, caller)
    assert response.status_code == row.status and (changed or not row.records), response.content[:500]


@pytest.mark.parametrize("row_id, caller", [
    ("GET api:smart_account_detail", "sa_admin"),
    ("GET api:virtual_account_devices", "sa_admin"),
    ("GET api:smart_account_classic_licenses", "sa_viewer"),
    ("GET licensing:license_list[account]", "sa_user"),
    ("GET portal:smart_account_detail", "sa_admin"),
])
def test_an_unverified_user_still_sees_what_their_roles_show(world, row_id, caller):  # noqa: F811
    response, _ = _unverified_call(_row(row_id), world, caller)

    assert response.status_code == 200
