"""DESIGN.md §3 for every page and every endpoint: one table, a row per URL and method, a cell per
caller (the columns of the roles table), each cell one request with its expected answer.

How a cell is decided: a row names who may (`ok`, answered `status`), and of the others who may
still see the object (`sees`: 403, "visible but not allowed"); everyone else gets 404 (no
existence leak). Anonymous callers are sent to the login page (302) by pages and get 401 from the
API. `odd` names the few callers answered otherwise, each with the reason beside it.

Every request runs in a savepoint that is rolled back, so each cell meets the same world
(tests/worlds/matrix.py, built once per module). The bodies of writes are valid: an allowed
write really happens (an Event is recorded, or what the row's `effect` measures changes), a
refused one changes nothing. Every URL pattern of the project needs a row
(test_every_url_has_a_row): a new URL without one fails the suite.

A test per row (every column asked in it, each failure named by URL, method and caller) keeps the
thousands of cells quick; `ROWS` and `CELLS` are the table.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.contrib import admin as django_admin
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse

from accounts import selectors as account_selectors
from accounts.models import (
    ApiKey,
    Event,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerMembership,
    SupportCase,
    SupportMessage,
    User,
)
from licensing.models import Product

from ..reauth import reauthenticate
from tests.worlds.matrix import CALLERS, World, world  # noqa: F401 (world: the module-scoped fixture)

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


def access_reference(w: World, caller: str) -> dict:
    """The request page's reference to Acme, as the caller's own domain search links it
    (anonymous callers are sent to the login page first: anyone's will do)."""
    user = w.users.get(caller, w.users["no_role"])
    return {"ref": account_selectors.search_reference(smart_account=w.acme, user=user)}


def acme_found_by(w: World, caller: str) -> str:
    """Acme as the caller's own account search offers it in the order form and the move (a
    reference signed for them; anonymous callers: anyone's will do)."""
    return account_selectors.search_reference(smart_account=w.acme, user=w.users.get(caller, w.users["no_role"]))


def acme_sa(w: World) -> dict:
    return {"sa_pk": w.acme.pk}


def left_child_va(w: World) -> dict:
    return {"va_pk": w.left_child.pk}


def email_of(w: World, caller: str) -> str:
    """The caller's own email (anonymous callers are turned away before a body is read)."""
    return w.users[caller].email if caller in w.users else "anonymous@example.org"


def domain_of(w: World, caller: str) -> str:
    return email_of(w, caller).rsplit("@", 1)[1]


def transfer_form(w: World, caller: str) -> dict:
    return {
        "from_virtual_account": w.left_child.pk, "to_virtual_account": w.left.pk,
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 50,
        "lines-0-product": w.smart.pk, "lines-0-quantity": 1,
    }


def token_form(w: World, caller: str) -> dict:
    return {"virtual_account": w.left_child.pk, "description": "Matrix", "expires_in_days": 30, "max_uses": ""}


def device_move_form(w: World, caller: str) -> dict:
    return {"devices": w.left_device.pk, "virtual_account": w.left.pk}


def order_form(w: World, caller: str) -> dict:
    return {
        "end_customer_name": "Acme", "end_customer_email": "admin@acme.com", "reseller": "",
        "lines-TOTAL_FORMS": 1, "lines-INITIAL_FORMS": 0, "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 500,
        "lines-0-product": w.smart.sku, "lines-0-quantity": 1, "lines-0-assignment": "holding",
        "lines-0-holding_account": w.dist_stock.pk,
    }


def assign_form(w: World, caller: str) -> dict:
    return {"assign-smart_account": w.acme.pk, "assign-virtual_account": w.left_child.pk}


def spare_member(w: World) -> dict:
    return {"pk": w.distributor.pk, "member_id": w.spare_membership.pk}


def alert_form(w: World, caller: str) -> dict:
    return {"insufficient_licenses": "on", "expiring_subscriptions": "on", "expiry_windows": "90, 30, 7",
            "extra_recipients": ""}


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


# --- the table -------------------------------------------------------------------------------

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

# Pages per Smart Account (`sa/<Acme>/…`: every role holder sees their part) and per Virtual
# Account (`va/<Left child>/…`: the right subtree only).
SCOPED_READS = ["dashboard", "license_list", "license_export", "device_list", "event_list",
                "event_export", "virtual_account_search", "reconciliation", "reconciliation_export"]

LICENSING_PAGES = [
    # Straight to the account's licenses for whoever sees exactly one customer account (Acme).
    page("licensing:index", ok=SIGNED_IN, odd={c: 302 for c in ACCOUNT - STAFF}),
    *[page(f"licensing:{name}", label="account", kwargs=acme_sa, ok=ACCOUNT) for name in SCOPED_READS],
    *[page(f"licensing:{name}", label="virtual account", kwargs=left_child_va, ok=LEFT_READERS)
      for name in SCOPED_READS],
    page("licensing:license_detail", label="account", kwargs=lambda w: {"sa_pk": w.acme.pk, "product_pk": w.smart.pk},
         ok=ACCOUNT),
    page("licensing:license_detail", label="virtual account",
         kwargs=lambda w: {"va_pk": w.left_child.pk, "product_pk": w.smart.pk}, ok=LEFT_READERS),
    # Tokens are secrets of the pool: users up list them, within their subtree, as in the API
    # (viewers see the account: 403).
    page("licensing:token_list", label="account", kwargs=acme_sa, ok=OPERATORS_ANYWHERE, sees=ACCOUNT),
    page("licensing:token_list", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS),
    # Moving licenses, devices and making tokens: users up, within their subtree.
    page("licensing:license_transfer", label="account", kwargs=acme_sa, ok=OPERATORS_ANYWHERE, sees=ACCOUNT),
    page("licensing:license_transfer", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=transfer_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:license_transfer", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS),
    page("licensing:license_transfer", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=transfer_form),
    page("licensing:license_transfer_available", kwargs=acme_sa, ok=ACCOUNT,
         query=lambda w: {"from_virtual_account": w.left_child.pk}),
    page("licensing:token_create", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=token_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:token_create", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=token_form),
    # The device chosen on the list is in Left child: a sibling operator cannot see it (404).
    page("licensing:device_move", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         query=lambda w: {"device": w.left_device.pk}, odd=dict.fromkeys(SIBLING_OPERATORS, 404)),
    page("licensing:device_move", "POST", label="account", kwargs=acme_sa, ok=LEFT_OPERATORS, sees=ACCOUNT,
         status=302, body=device_move_form, odd=dict.fromkeys(SIBLING_OPERATORS, NOT_AMONG_THE_CHOICES)),
    page("licensing:device_move", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS, sees=LEFT_READERS,
         query=lambda w: {"device": w.left_device.pk}),
    page("licensing:device_move", "POST", label="virtual account", kwargs=left_child_va, ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302, body=device_move_form),
    page("licensing:token_revoke", "POST", kwargs=pk("left_token"), ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302),
    page("licensing:device_remove", "POST", kwargs=pk("left_device"), ok=LEFT_OPERATORS,
         sees=LEFT_READERS, status=302),
    # PAKs belong to the account as a whole (a project decision): SA roles see them, SA users up
    # register or convert one; a VA role sees the account but not its PAK list (403), nor a PAK (404).
    page("licensing:classic_license_list", kwargs=acme_sa, ok=SA_READERS, sees=ACCOUNT),
    page("licensing:classic_license_detail", kwargs=pk("pak"), ok=SA_READERS),
    page("licensing:classic_license_register", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS),
    page("licensing:classic_license_register", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
         status=302, body=fixed({"serial_number": "FTXMATRIX1"})),
    page("licensing:classic_license_convert", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS),
    page("licensing:classic_license_convert", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
         status=302, body=lambda w, c: {"virtual_account": w.left_child.pk}),
    # Alerts and their recipients are account settings: SA admins.
    page("licensing:alert_preferences", kwargs=acme_sa, ok=SA_ADMINS, sees=ACCOUNT),
    page("licensing:alert_preferences", "POST", kwargs=acme_sa, ok=SA_ADMINS, sees=ACCOUNT, status=302,
         body=alert_form),
]

ORDER_PAGES = [
    page("orders:order_list", ok=SIGNED_IN),
    # Partner users place orders (staff have no partner to order for).
    page("orders:order_place", ok=DISTRIBUTOR, sees=SIGNED_IN),
    page("orders:order_place", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302, body=order_form),
    page("orders:account_request_inline", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302,
         body=lambda w, c: {"newsa-name": "Acme Inline", "newsa-domain": "acme.com",
                            "newsa-contact_email": w.newcomer.email, "line_prefix": "lines-0"}),
    page("orders:holding_account_create_inline", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=302,
         body=fixed({"newholding-name": "Inline stock"})),
    # Depositing needs no role in the customer's account: partner users (and staff) find it.
    page("orders:account_search", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN,
         query=lambda w: {"prefix": "lines-0", "lines-0-account_search": "acme.com"}),
    # Its Virtual Account names only for an account the caller's own search found: a bare id, or
    # someone else's reference (here holding_member's), shows nothing.
    page("orders:virtual_account_options", ok=DISTRIBUTOR | STAFF, sees=SIGNED_IN,
         caller_query=lambda w, c: {"prefix": "lines-0", "lines-0-smart_account": acme_found_by(w, c)}),
    page("orders:virtual_account_options", label="bare id", ok=frozenset(), sees=SIGNED_IN - DISTRIBUTOR - STAFF,
         query=lambda w: {"prefix": "lines-0", "lines-0-smart_account": w.acme.pk}),
    page("orders:virtual_account_options", label="another caller's reference", ok={"holding_member"},
         sees=SIGNED_IN - DISTRIBUTOR - STAFF,
         query=lambda w: {"prefix": "lines-0", "lines-0-smart_account": acme_found_by(w, "holding_member")}),
    # The end customer's choice: the Virtual Accounts they may operate in (none for most).
    page("orders:virtual_account_options", label="operate", ok=SIGNED_IN,
         query=lambda w: {"prefix": "assign", "assign-smart_account": w.acme.pk, "purpose": "operate"}),
    page("orders:order_detail", kwargs=pk("order"), ok=DISTRIBUTOR | STAFF),
    page("orders:order_ship", "POST", kwargs=pk("order_to_ship"), ok=STAFF, sees=DISTRIBUTOR, status=302),
    page("orders:held_line_list", ok=SIGNED_IN),
    page("orders:held_line_move", ok=SIGNED_IN, status=302),  # GET: back to the inbox
    page("orders:held_line_move", "POST", ok=HOLDERS, sees=SIGNED_IN, status=302,
         body=lambda w, c: {"move-lines": w.held_line.pk, "move-smart_account": acme_found_by(w, c),
                            "move-virtual_account": w.left_child.pk, "confirm": "1"}),
    # The account named by a bare id: back to the inbox with the error, nothing moves.
    page("orders:held_line_move", "POST", label="bare id", ok=frozenset(), sees=SIGNED_IN - HOLDERS,
         odd={c: 302 for c in HOLDERS},
         body=lambda w, c: {"move-lines": w.held_line.pk, "move-smart_account": w.acme.pk,
                            "move-virtual_account": w.left_child.pk, "confirm": "1"}),
    page("orders:delegated_line_list", ok=SIGNED_IN),
    # A delegated line is its end-customer contact's (sa_admin) to place.
    page("orders:delegated_line_choose", kwargs=pk("delegated_line"), ok={"sa_admin"}),
    page("orders:delegated_line_choose", "POST", kwargs=pk("delegated_line"), ok={"sa_admin"},
         status=302, body=assign_form),
    page("orders:delegated_line_assign", kwargs=token("delegated_token"), ok={"sa_admin"}, sees=SIGNED_IN),
    page("orders:delegated_line_assign", "POST", kwargs=token("delegated_token"), ok={"sa_admin"},
         sees=SIGNED_IN, status=302,
         body=assign_form),
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

API_LICENSING = [
    api("api:product_list", ok=SIGNED_IN),
    api("api:product_list", "POST", ok=STAFF, sees=SIGNED_IN, status=201,
        body=fixed({"sku": "MX-NEW", "name": "New", "family": "Routing"}), effect=Product.objects.count),
    api("api:product_detail", kwargs=pk("smart"), ok=SIGNED_IN),
    api("api:virtual_account_licenses", kwargs=pk("left_child"), ok=LEFT_READERS),
    api("api:smart_account_licenses", kwargs=acme, ok=ACCOUNT),
    api("api:license_transfer", "POST", ok=LEFT_OPERATORS, sees=LEFT_READERS, status=201, others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"from_virtual_account": w.left_child.pk, "to_virtual_account": w.left.pk,
                           "lines": [{"sku": w.smart.sku, "quantity": 1}]}),
    # Tokens are secrets of the pool: users up list and make them (DESIGN.md §5).
    api("api:virtual_account_tokens", kwargs=pk("left_child"), ok=LEFT_OPERATORS, sees=LEFT_READERS),
    api("api:virtual_account_tokens", "POST", kwargs=pk("left_child"), ok=LEFT_OPERATORS,
        sees=LEFT_READERS, status=201, body=fixed({"description": "Matrix", "expires_in_days": 30})),
    api("api:token_detail", kwargs=pk("left_token"), ok=LEFT_OPERATORS, sees=LEFT_READERS),
    api("api:token_detail", "DELETE", kwargs=pk("left_token"), ok=LEFT_OPERATORS, sees=LEFT_READERS,
        status=204),
    # A device's own endpoints: the token in the body, or the device's secret, is the credential;
    # no user is the device (401), whatever their roles (test_the_device_itself_gets_in).
    api("api:device_register", "POST", ok=EVERYONE, status=201,
        body=lambda w, c: {"token": w.left_token_secret, "serial_number": "FTXMATRIX9", "hostname": "m.acme.com"}),
    api("api:device_usage", "POST", kwargs=pk("left_device"), ok=frozenset(), others=401,
        body=lambda w, c: {"usage": [{"sku": w.smart.sku, "count": 1}]}),
    api("api:device_ping", kwargs=pk("left_device"), ok=frozenset(), others=401),
    api("api:device_detail", kwargs=pk("left_device"), ok=LEFT_READERS),
    api("api:device_detail", "PATCH", kwargs=pk("left_device"), ok=LEFT_OPERATORS, sees=LEFT_READERS,
        body=lambda w, c: {"virtual_account": w.left.pk}),
    api("api:device_detail", "DELETE", kwargs=pk("left_device"), ok=LEFT_OPERATORS,
        sees=LEFT_READERS, status=204),
    api("api:virtual_account_devices", kwargs=pk("left_child"), ok=LEFT_READERS),
    # As on the pages: the account's PAKs are for SA roles (a VA role: 403 on the list, 404 on one).
    api("api:smart_account_classic_licenses", kwargs=acme, ok=SA_READERS, sees=ACCOUNT),
    api("api:license_key_verify", "POST", ok=EVERYONE, body=lambda w, c: {"license_key": w.license_key},
        records=False),  # reads only
    api("api:classic_license_register", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
        body=fixed({"serial_number": "FTXMATRIX1"})),
    api("api:classic_license_convert", "POST", kwargs=pk("pak"), ok=SA_OPERATORS, sees=SA_READERS,
        status=201, body=lambda w, c: {"virtual_account": w.left_child.pk}),
    api("api:smart_account_events", kwargs=acme, ok=ACCOUNT),
    api("api:smart_account_reconciliation", kwargs=acme, ok=ACCOUNT),
    api("api:smart_account_usage_history", kwargs=acme, ok=ACCOUNT),
    # Alert settings and their recipients are account settings: SA admins, as on the page.
    api("api:alert_preferences", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT),
    api("api:alert_preferences", "PATCH", kwargs=acme, ok=SA_ADMINS, sees=ACCOUNT,
        body=fixed({"daily_summary": True})),
]

API_ORDERS = [
    api("api:order_list", ok=SIGNED_IN),
    # Depositing gives and never takes: the partner needs no role in Acme to order into it.
    api("api:order_list", "POST", ok=DISTRIBUTOR, sees=SIGNED_IN, status=201,
        body=lambda w, c: {"end_customer_name": "Acme", "end_customer_email": "admin@acme.com",
                           "lines": [{"sku": w.smart.sku, "quantity": 1, "smart_account": w.acme.pk,
                                      "virtual_account": w.left_child.pk}]}),
    api("api:order_detail", kwargs=pk("order"), ok=DISTRIBUTOR | STAFF),
    api("api:order_ship", "POST", kwargs=pk("order_to_ship"), ok=STAFF, sees=DISTRIBUTOR),
    api("api:order_line_delegated_list", ok=SIGNED_IN),
    # Lines the caller cannot see are answered like unknown ones (400 naming them, no leak).
    # The order's end-customer contact (sa_admin) knows its lines: refused (403), not hidden.
    api("api:order_line_move", "POST", label="held", ok=HOLDERS, sees={"sa_admin"}, others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"lines": [w.held_line.pk], "smart_account": w.acme.pk,
                           "virtual_account": w.left_child.pk}),
    # Only the end-customer contact chooses where a delegated line goes; those who see the order may not.
    api("api:order_line_move", "POST", label="delegated", ok={"sa_admin"}, sees=DISTRIBUTOR | STAFF,
        others=NAMED_IN_THE_BODY,
        body=lambda w, c: {"lines": [w.delegated_line.pk], "smart_account": w.acme.pk,
                           "virtual_account": w.left_child.pk}),
    # The contract is public (DESIGN.md §5): schema and browsable docs.
    # Generated from the code, the same for every caller, and a second's work: three columns.
    api("api:schema", ok=EVERYONE, callers=("anonymous", "no_role", "staff")),
    api("api:docs", ok=EVERYONE),
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

ROWS: list[Row] = [
    *PORTAL_PAGES, *ACCOUNT_PAGES, *PARTNER_PAGES, *LICENSING_PAGES, *ORDER_PAGES,
    *API_ACCOUNTS, *API_LICENSING, *API_ORDERS, *ALLAUTH, *ADMIN,
]

CELLS = [(row, caller) for row in ROWS for caller in row.callers]

# The cells run in the module's world (each in a savepoint of its own, see `call`); the mark
# makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


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


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_role_matrix(world, row):
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


@pytest.mark.parametrize("url", [
    lambda w: reverse("licensing:classic_license_list", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("licensing:license_export", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("licensing:classic_license_detail", kwargs={"pk": w.pak.pk}),
    lambda w: reverse("licensing:dashboard", kwargs={"sa_pk": w.acme.pk}),
    lambda w: reverse("api:smart_account_classic_licenses", kwargs={"pk": w.acme.pk}),
], ids=["paks page", "licenses csv", "pak", "account page", "paks api"])
def test_pages_and_answers_with_paks_or_license_keys_are_never_stored(world, url):
    response = world.clients["sa_admin"].get(url(world))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# --- the device itself, and every URL has a row ------------------------------------------------


@pytest.mark.parametrize("name, method, status", [("api:device_usage", "post", 200), ("api:device_ping", "get", 204)])
def test_the_device_itself_gets_in(world, name, method, status):
    """The one caller the device endpoints let in (401 for every column of the table)."""
    url = reverse(name, kwargs={"pk": world.left_device.pk})
    body = json.dumps({"usage": [{"sku": world.smart.sku, "count": 1}]}) if method == "post" else None
    with transaction.atomic():
        kwargs = {"content_type": "application/json"} if body else {}
        response = getattr(Client(), method)(
            url, body, HTTP_AUTHORIZATION=f"Bearer {world.left_device_secret}", **kwargs)
        transaction.set_rollback(True)
    assert response.status_code == status, response.content


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
