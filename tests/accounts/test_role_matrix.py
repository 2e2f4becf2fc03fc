"""DESIGN.md §3 for the accounts app's pages and endpoints: the role matrix's rows for Smart and
Virtual Accounts, roles and access requests, partners and holding accounts, and the user's own
pages (help, privacy, support, API keys). How a row is read and run: tests/role_matrix.py.
"""
from __future__ import annotations

import pytest

from accounts import selectors as account_selectors
from accounts.models import Partner, User

from tests.role_matrix import (
    ACCOUNT,
    ADMINS_ANYWHERE,
    DISTRIBUTOR,
    EVERYONE,
    HOLDERS,
    LEFT_ADMINS,
    LEFT_READERS,
    NAMED_IN_THE_BODY,
    NOT_AMONG_THE_CHOICES,
    OWNER,
    PARTNER_ADMIN,
    SA_ADMINS,
    SA_READERS,
    SIGNED_IN,
    STAFF,
    Row,
    acme,
    api,
    api_keys,
    check_row,
    closed_users,
    domain_of,
    email_of,
    fixed,
    page,
    params,
    partner_invitations,
    partner_memberships,
    pk,
    revoked_api_keys,
    support_cases,
    support_messages,
    token,
)
from tests.worlds.matrix import World, world  # noqa: F401 (world: the module-scoped fixture)


def access_reference(w: World, caller: str) -> dict:
    """The request page's reference to Acme, as the caller's own domain search links it
    (anonymous callers are sent to the login page first: anyone's will do)."""
    user = w.users.get(caller, w.users["no_role"])
    return {"ref": account_selectors.search_reference(smart_account=w.acme, user=user)}


def spare_member(w: World) -> dict:
    return {"pk": w.distributor.pk, "member_id": w.spare_membership.pk}


# The user's own pages: help, privacy and closing the account, support cases, API keys.
OWN_PAGES = [
    *[page(f"accounts:help_{topic}", ok=EVERYONE)
      for topic in ("index", "accounts", "virtual_accounts", "partner_access", "privacy")],
    page("accounts:privacy", ok=SIGNED_IN),
    page("accounts:privacy_export", ok=SIGNED_IN),
    page("accounts:privacy_close", ok=SIGNED_IN),
    # Everyone may close their own account, after confirming the password; the only admin of Acme,
    # and the distributor's only admin, are refused until they name another (a form error).
    # Without the confirmation: sent to give it.
    page("accounts:privacy_close", "POST", ok=SIGNED_IN - {"sa_admin", "partner_no_consent"}, status=302,
         odd={"sa_admin": 200, "partner_no_consent": 200},
         body=lambda w, c: {"confirm_email": email_of(w, c)}, reauthenticated=True, effect=closed_users),
    page("accounts:privacy_close", "POST", label="not re-authenticated", ok=SIGNED_IN, status=302, records=False,
         body=lambda w, c: {"confirm_email": email_of(w, c)}, fresh_session=True, effect=closed_users),
    page("accounts:privacy_closed", ok=EVERYONE),
    page("accounts:support_case_list", ok=SIGNED_IN),
    page("accounts:support_case_create", ok=SIGNED_IN),
    page("accounts:support_case_create", "POST", ok=SIGNED_IN, status=302,
         body=fixed({"subject": "Matrix", "body": "A question.", "smart_account": "", "order_number": ""}),
         effect=support_cases),
    # A user's own case; staff answer cases in the admin (and through the API).
    page("accounts:support_case_detail", kwargs=pk("support_case"), ok=OWNER),
    page("accounts:support_case_reply", "POST", kwargs=pk("support_case"), ok=OWNER, status=302,
         body=fixed({"body": "Any news?"}), effect=support_messages),
    page("accounts:support_case_resolve", "POST", kwargs=pk("support_case"), ok=OWNER, status=302,
         effect=support_cases),
    page("accounts:api_key_list", ok=SIGNED_IN),
    page("accounts:api_key_create", "POST", ok=SIGNED_IN, status=302, body=fixed({"name": "Matrix key"}),
         reauthenticated=True, effect=api_keys),
    page("accounts:api_key_create", "POST", label="not re-authenticated", ok=SIGNED_IN, status=302, records=False,
         body=fixed({"name": "Matrix key"}), effect=api_keys),
    page("accounts:api_key_revoke", "POST", kwargs=pk("spare_api_key"), ok=OWNER, status=302, effect=revoked_api_keys),
]

ACCOUNT_PAGES = [
    page("accounts:smart_account_list", ok=SIGNED_IN),
    page("accounts:smart_account_find", ok=SIGNED_IN, query=lambda w: {"domain": "acme.com"}),
    page("accounts:smart_account_create", ok=SIGNED_IN),
    # Any verified user creates an account for their own email's domain.
    page("accounts:smart_account_create", "POST", ok=SIGNED_IN, status=302,
         body=lambda w, c: {"name": "Matrix Co", "domain": domain_of(w, c)}),
    # Requesting an account for a customer: partner users (and staff).
    page("accounts:smart_account_request", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN),
    page("accounts:smart_account_request", "POST", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN, status=302,
         body=lambda w, c: {"name": "Acme Request", "domain": "acme.com", "contact_email": w.newcomer.email}),
    # The activation link is the named contact's (sa_admin); staff activate through the API.
    page("accounts:smart_account_activate", kwargs=token("activation_token"), ok={"sa_admin"},
         sees=SIGNED_IN),
    page("accounts:smart_account_activate", "POST", kwargs=token("activation_token"), ok={"sa_admin"},
         sees=SIGNED_IN, status=302, body=fixed({"grant_partner_role": "sa_viewer"})),
    # Anyone may ask for access to an account found by their own domain search (the results link
    # the page with a reference signed for the searcher)...
    page("accounts:access_request_create", caller_kwargs=access_reference, ok=SIGNED_IN),
    page("accounts:access_request_create", "POST", caller_kwargs=access_reference, ok=SIGNED_IN, status=302,
         body=fixed({"scope": "part", "scope_wanted": "The Left office", "message": "Please."})),
    # ...and someone else's reference shows nothing (here no_role's).
    page("accounts:access_request_create", label="another caller's reference",
         kwargs=lambda w: access_reference(w, "no_role"), ok={"no_role"}),
    page("accounts:access_request_create", "POST", label="another caller's reference",
         kwargs=lambda w: access_reference(w, "no_role"), ok={"no_role"}, status=302,
         body=fixed({"scope": "account", "message": "Please."})),
    page("accounts:virtual_account_create", kwargs=acme, ok=ADMINS_ANYWHERE, sees=ACCOUNT),
    page("accounts:virtual_account_create", "POST", kwargs=acme, ok=LEFT_ADMINS, sees=ACCOUNT, status=302,
         odd={"va_admin_sibling": NOT_AMONG_THE_CHOICES},
         body=lambda w, c: {"name": "Matrix VA", "parent": w.left_child.pk, "description": ""}),
    # VA admins restructure strictly below their own VA: Left child is below Left.
    page("accounts:virtual_account_edit", kwargs=pk("left_child", "va_pk"), ok=LEFT_ADMINS, sees=LEFT_READERS),
    page("accounts:virtual_account_edit", "POST", kwargs=pk("left_child", "va_pk"), ok=LEFT_ADMINS,
         sees=LEFT_READERS, status=302,
         body=lambda w, c: {"name": "Left child renamed", "parent": w.left.pk, "description": ""}),
    page("accounts:virtual_account_delete", "POST", kwargs=pk("left_spare", "va_pk"), ok=LEFT_ADMINS,
         sees=LEFT_READERS, status=302),
    # ...but not their own VA (SA admins do).
    page("accounts:virtual_account_edit", label="own VA of the VA roles", kwargs=pk("left", "va_pk"), ok=SA_ADMINS,
         sees=LEFT_READERS),
    # The root DEFAULT stays, a rule rather than a right: its edit page is shown to nobody (403 to
    # whoever sees it), deleting it is answered with the rule's message (302 back, nothing deleted).
    page("accounts:virtual_account_edit", label="root", kwargs=pk("root", "va_pk"), ok=frozenset(), sees=SA_READERS),
    page("accounts:virtual_account_delete", "POST", label="root", kwargs=pk("root", "va_pk"), ok=frozenset(),
         odd=dict.fromkeys(SA_READERS, 302)),
    # The default Virtual Account is an account setting: SA admins.
    page("accounts:virtual_account_set_default", "POST", kwargs=pk("left_child", "va_pk"), ok=SA_ADMINS,
         sees=LEFT_READERS, status=302),
    page("accounts:smart_account_users", kwargs=acme, ok=ADMINS_ANYWHERE, sees=ACCOUNT),
    page("accounts:role_grant", "POST", kwargs=acme, ok=LEFT_ADMINS, sees=ACCOUNT, status=302,
         body=lambda w, c: {"user_email": w.newcomer.email, "role": "va_viewer", "virtual_account": w.left_child.pk}),
    page("accounts:role_revoke", "POST", kwargs=pk("departing_role", "role_id"), ok=LEFT_ADMINS,
         sees=LEFT_READERS, status=302),
    # Only SA admins approve access requests (a project decision).
    page("accounts:access_request_approve", "POST", kwargs=pk("access_request", "request_id"), ok=SA_ADMINS,
         sees=ACCOUNT, status=302, body=fixed({"role": "sa_viewer"})),
    page("accounts:access_request_deny", "POST", kwargs=pk("access_request", "request_id"), ok=SA_ADMINS,
         sees=ACCOUNT, status=302, body=fixed({"reason": "Ask your manager."})),
]

# The partner pages are about the caller's own partner organisation: a user of none (staff
# included: staff manage partners in the admin and the API) finds nothing to act on (404).
PARTNER_PAGES = [
    page("accounts:partner_detail", ok=SIGNED_IN),
    # Members join by invitation: the partner's admins invite and withdraw invitations...
    page("accounts:partner_member_invite", "POST", ok=PARTNER_ADMIN, sees={"holding_member"}, status=302,
         body=lambda w, c: {"email": w.newcomer.email, "is_admin": ""}, effect=partner_invitations),
    page("accounts:partner_invitation_revoke", "POST", kwargs=pk("partner_invitation"), ok=PARTNER_ADMIN,
         sees={"holding_member"}, status=302, effect=partner_invitations),
    # ...and the emailed link is personal: only its addressee (no_role) accepts or declines it.
    page("accounts:partner_invitation_respond", kwargs=token("partner_invitation_token"), ok={"no_role"},
         sees=SIGNED_IN),
    page("accounts:partner_invitation_respond", "POST", label="accept", kwargs=token("partner_invitation_token"),
         ok={"no_role"}, sees=SIGNED_IN, status=302, body=fixed({"decision": "accept"}), effect=partner_memberships),
    page("accounts:partner_invitation_respond", "POST", label="decline", kwargs=token("partner_invitation_token"),
         ok={"no_role"}, sees=SIGNED_IN, status=302, body=fixed({"decision": "decline"}),
         effect=partner_invitations),
    page("accounts:partner_member_remove", "POST", kwargs=pk("spare_membership"), ok=PARTNER_ADMIN,
         sees={"holding_member"}, status=302, effect=partner_memberships),
    page("accounts:partner_member_set_admin", "POST", kwargs=pk("spare_membership"), ok=PARTNER_ADMIN,
         sees={"holding_member"}, status=302, body=fixed({"is_admin": "1"}), effect=partner_memberships),
    page("accounts:holding_account_list", ok=SIGNED_IN),
    page("accounts:holding_account_create", "POST", ok=DISTRIBUTOR, status=302, body=fixed({"name": "Second stock"})),
    # Adding a colleague to the holding account: the partner's admins.
    page("accounts:holding_member_add", "POST", kwargs=pk("dist_stock"), ok=PARTNER_ADMIN,
         sees={"holding_member"}, status=302,
         body=lambda w, c: {f"h{w.dist_stock.pk}-email": w.spare.email, f"h{w.dist_stock.pk}-notify": "on"}),
    # holding_member's own membership: they leave it, their partner's admin takes them out.
    page("accounts:holding_member_remove", "POST", kwargs=pk("holding_membership"), ok=DISTRIBUTOR,
         status=302),
    page("accounts:holding_member_notify", "POST", kwargs=pk("holding_membership"), ok=DISTRIBUTOR,
         status=302, body=fixed({"notify": ""})),
    page("accounts:partner_customer_list", ok=SIGNED_IN),
]

API_ACCOUNTS = [
    api("api:me", ok=SIGNED_IN),
    api("api:user_list", "POST", ok=STAFF, sees=SIGNED_IN, status=201,
        body=fixed({"email": "new.user@example.org", "password": "correct horse battery", "name": "New"}),
        effect=User.objects.count),
    api("api:partner_list", ok=SIGNED_IN),
    api("api:partner_list", "POST", ok=STAFF, sees=SIGNED_IN, status=201,
        body=fixed({"name": "Matrix Resale", "kind": "reseller"}), effect=Partner.objects.count),
    api("api:partner_detail", kwargs=pk("distributor"), ok=HOLDERS),
    api("api:partner_member_list", kwargs=pk("distributor"), ok=HOLDERS),
    # Adding a member is inviting them (202): they join by accepting, the invitee alone.
    api("api:partner_member_list", "POST", kwargs=pk("distributor"), ok=PARTNER_ADMIN | STAFF,
        sees={"holding_member"}, status=202, body=lambda w, c: {"email": w.newcomer.email},
        effect=partner_invitations),
    api("api:partner_invitation_list", kwargs=pk("distributor"), ok=PARTNER_ADMIN | STAFF, sees={"holding_member"}),
    api("api:partner_invitation_detail", "DELETE", kwargs=pk("partner_invitation"), ok=PARTNER_ADMIN | STAFF,
        sees={"holding_member"}, status=204, effect=partner_invitations),
    api("api:partner_invitation_accept", "POST", ok={"no_role"}, sees=SIGNED_IN, status=201,
        body=lambda w, c: {"token": w.partner_invitation_token}, effect=partner_memberships),
    api("api:partner_invitation_decline", "POST", ok={"no_role"}, sees=SIGNED_IN, status=204,
        body=lambda w, c: {"token": w.partner_invitation_token}, effect=partner_invitations),
    api("api:partner_member_detail", "PATCH", kwargs=spare_member, ok=PARTNER_ADMIN | STAFF, sees={"holding_member"},
        body=fixed({"is_admin": True}), effect=partner_memberships),
    api("api:partner_member_detail", "DELETE", kwargs=spare_member,
        ok=PARTNER_ADMIN | STAFF, sees={"holding_member"}, status=204, effect=partner_memberships),
    api("api:partner_customer_list", kwargs=pk("distributor"), ok=HOLDERS),
    api("api:smart_account_list", ok=SIGNED_IN),
    api("api:smart_account_list", label="by domain", ok=SIGNED_IN, query=lambda w: {"domain": "acme.com"}),
    api("api:smart_account_list", "POST", ok=SIGNED_IN, status=201,
        body=lambda w, c: {"kind": "customer", "name": "Matrix Co", "domain": domain_of(w, c)}),
    api("api:smart_account_detail", kwargs=acme, ok=ACCOUNT),
    api("api:smart_account_detail", "PATCH", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT,
        body=lambda w, c: {"default_virtual_account": w.left_child.pk}),
    # The named contact (sa_admin) or staff; the partner user who requested it finds it but may not.
    api("api:smart_account_activate", "POST", kwargs=pk("acme_labs"), ok={"sa_admin", "staff"},
        sees=PARTNER_ADMIN, body=fixed({"grant_partner_role": "sa_viewer"})),
    api("api:access_request_list", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT),
    api("api:access_request_list", "POST", kwargs=acme, ok=SIGNED_IN, status=201,
        body=fixed({"message": "Please."})),
    api("api:my_access_request_list", ok=SIGNED_IN),
    api("api:access_request_approve", "POST", kwargs=pk("access_request"), ok=SA_ADMINS, sees=ACCOUNT,
        body=fixed({"role": "sa_viewer"})),
    api("api:access_request_deny", "POST", kwargs=pk("access_request"), ok=SA_ADMINS, sees=ACCOUNT,
        body=fixed({"reason": "Ask your manager."})),
    api("api:role_list", kwargs=acme, ok=ADMINS_ANYWHERE, sees=ACCOUNT),
    api("api:role_list", "POST", kwargs=acme, ok=LEFT_ADMINS, sees=ACCOUNT, status=201,
        odd={"va_admin_sibling": NAMED_IN_THE_BODY},
        body=lambda w, c: {"user_email": w.newcomer.email, "role": "va_viewer", "virtual_account": w.left_child.pk}),
    api("api:role_detail", "DELETE", kwargs=pk("departing_role"), ok=LEFT_ADMINS, sees=LEFT_READERS,
        status=204),
    api("api:holding_member_list", kwargs=pk("dist_stock"), ok=HOLDERS),
    api("api:holding_member_list", "POST", kwargs=pk("dist_stock"), ok=PARTNER_ADMIN | STAFF,
        sees={"holding_member"}, status=201, body=lambda w, c: {"email": w.spare.email, "notify": True}),
    api("api:holding_member_detail", "DELETE",
        kwargs=lambda w: {"pk": w.dist_stock.pk, "member_id": w.holding_membership.pk},
        ok=HOLDERS, status=204),
    api("api:virtual_account_list", kwargs=acme, ok=ACCOUNT),
    api("api:virtual_account_list", "POST", kwargs=acme, ok=LEFT_ADMINS, sees=ACCOUNT, status=201,
        odd={"va_admin_sibling": NAMED_IN_THE_BODY},
        body=lambda w, c: {"name": "Matrix VA", "parent": w.left_child.pk}),
    api("api:virtual_account_detail", kwargs=pk("left_child"), ok=LEFT_READERS),
    api("api:virtual_account_detail", "PATCH", kwargs=pk("left_child"), ok=LEFT_ADMINS,
        sees=LEFT_READERS, body=fixed({"name": "Left child renamed"})),
    api("api:virtual_account_detail", "DELETE", kwargs=pk("left_spare"), ok=LEFT_ADMINS,
        sees=LEFT_READERS, status=204),
    # VA admins restructure strictly below their VA: Left itself is the SA admins'.
    api("api:virtual_account_detail", "PATCH", label="own VA of the VA roles", kwargs=pk("left"), ok=SA_ADMINS,
        sees=LEFT_READERS, body=fixed({"name": "Left renamed"})),
    # The root DEFAULT is never renamed, moved or deleted: a validation error (400) for those who
    # may restructure the account, not a permission question.
    api("api:virtual_account_detail", "PATCH", label="root", kwargs=pk("root"), ok=SA_ADMINS, status=400,
        sees=SA_READERS, body=fixed({"name": "Everything"})),
    api("api:virtual_account_detail", "DELETE", label="root", kwargs=pk("root"), ok=SA_ADMINS, status=400,
        sees=SA_READERS),
    api("api:me_data", ok=SIGNED_IN),
    # As on the page: the only admin of Acme, or of the distributor, may not close their account yet (400).
    # Closing and minting keys need a session that just confirmed the password; an API key is refused.
    api("api:me_close", "POST", ok=SIGNED_IN - {"sa_admin", "partner_no_consent"}, status=204,
        odd={"sa_admin": 400, "partner_no_consent": 400},
        body=lambda w, c: {"confirm_email": email_of(w, c)}, reauthenticated=True, effect=closed_users),
    api("api:me_close", "POST", label="API key", ok=frozenset(), sees=SIGNED_IN,
        body=lambda w, c: {"confirm_email": email_of(w, c)}, effect=closed_users),
    api("api:api_key_list", ok=SIGNED_IN),
    api("api:api_key_list", "POST", ok=SIGNED_IN, status=201, body=fixed({"name": "Matrix key"}),
        reauthenticated=True, effect=api_keys),
    api("api:api_key_list", "POST", label="API key", ok=frozenset(), sees=SIGNED_IN, body=fixed({"name": "Matrix key"}),
        effect=api_keys),
    api("api:api_key_detail", "DELETE", kwargs=pk("spare_api_key"), ok=OWNER, status=204, effect=revoked_api_keys),
    api("api:support_case_list", ok=SIGNED_IN),
    api("api:support_case_list", "POST", ok=SIGNED_IN, status=201,
        body=fixed({"subject": "Matrix", "body": "A question."}), effect=support_cases),
    # A user's own case, and staff (who answer them).
    api("api:support_case_detail", kwargs=pk("support_case"), ok=OWNER | STAFF),
    api("api:support_case_message_list", "POST", kwargs=pk("support_case"), ok=OWNER | STAFF,
        status=201, body=fixed({"body": "Any news?"}), effect=support_messages),
    api("api:support_case_resolve", "POST", kwargs=pk("support_case"), ok=OWNER | STAFF, effect=support_cases),
]

ROWS: list[Row] = [*OWN_PAGES, *ACCOUNT_PAGES, *PARTNER_PAGES, *API_ACCOUNTS]


# The cells run in the module's world (each in a savepoint of its own, see tests/role_matrix.py);
# the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("row", params(ROWS))
def test_role_matrix(world, row):
    """One row: every caller's cell, each failure named by URL, method and caller."""
    check_row(world, row)
