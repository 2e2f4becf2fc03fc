"""The role table of DESIGN.md §3, cell by cell, as `accounts.permissions` answers it.

`ROLE_TABLE` is the table as written (capability × role → how far the right reaches); every
test of `can` and `visible` below is generated from it. The VA roles are granted on
`US > Finance` of the standing Acme tree (see conftest).
"""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import permissions, services
from accounts.models import Event, Role, SmartAccount, VirtualAccount
from accounts.permissions import ADMINISTER, HOLD, OPERATE, STRUCTURE, VIEW
from tests.factories import (
    EventFactory,
    HoldingAccountFactory,
    HoldingMembershipFactory,
    PartnerMembershipFactory,
    SmartAccountFactory,
    UserFactory,
    VirtualAccountFactory,
)

from .conftest import fresh, give_role

ALL, SUBTREE, NONE = "all", "subtree", "none"
ROLES = ("sa_admin", "sa_user", "sa_viewer", "va_admin", "va_user", "va_viewer", "no_role", "holding_member")
CAPABILITIES = (VIEW, OPERATE, STRUCTURE, ADMINISTER, HOLD)

# DESIGN.md §3, one row per capability, columns in the table's order.
# "—" (not applicable: a customer account has no holding members, a role holder has no HOLD
# right on a customer account) reads as NONE here; holding accounts have their own test below.
ROLE_TABLE: dict = {
    #            sa_admin sa_user sa_viewer va_admin va_user  va_viewer no_role holding_member
    VIEW:       (ALL,     ALL,    ALL,      SUBTREE, SUBTREE, SUBTREE,  NONE,   NONE),
    OPERATE:    (ALL,     ALL,    NONE,     SUBTREE, SUBTREE, NONE,     NONE,   NONE),
    STRUCTURE:  (ALL,     NONE,   NONE,     SUBTREE, NONE,    NONE,     NONE,   NONE),
    ADMINISTER: (ALL,     NONE,   NONE,     SUBTREE, NONE,    NONE,     NONE,   NONE),
    HOLD:       (NONE,    NONE,   NONE,     NONE,    NONE,    NONE,     NONE,   NONE),
}

# Where the right is asked, relative to the VA a VA role was granted on (US > Finance).
TARGETS = {
    "smart_account": "sa",
    "granted_va": "finance",
    "va_below": "sacramento",
    "parent_va": "us",
    "sibling_subtree": "sales",
    "other_branch": "paris",
}
IN_SUBTREE = {"granted_va", "va_below"}


def reach(role: str, capability) -> str:
    return ROLE_TABLE[capability][ROLES.index(role)]


def expected(role: str, capability, target: str) -> bool:
    how_far = reach(role, capability)
    if how_far == ALL:
        return True
    if how_far == NONE:
        return False
    if target == "smart_account":
        # A VA role shows the account (its subtree); acting on the account as a whole
        # (settings, SA roles, its VA structure from the top) needs an SA role.
        return capability == VIEW
    # STRUCTURE on a VA = creating below it: a VA admin may, on its VA and below.
    return target in IN_SUBTREE


def cast(role: str, acme):
    """A user holding `role` in Acme (VA roles on US > Finance)."""
    user = UserFactory()
    if role.startswith("sa_"):
        give_role(user, role, acme.sa)
    elif role.startswith("va_"):
        give_role(user, role, acme.finance)
    elif role == "holding_member":
        holding = HoldingAccountFactory()
        PartnerMembershipFactory(partner=holding.partner, user=user)
        HoldingMembershipFactory(smart_account=holding, user=user)
    return user


CELLS = [
    pytest.param(role, capability, target, expected(role, capability, target),
                 id=f"{role}-{capability.name}-{target}")
    for role in ROLES for capability in CAPABILITIES for target in TARGETS
]


@pytest.mark.parametrize(("role", "capability", "target", "allowed"), CELLS)
def test_role_table_cell(acme, role, capability, target, allowed):
    user = cast(role, acme)

    assert permissions.can(user, capability, getattr(acme, TARGETS[target])) is allowed


def test_role_table_has_every_cell_of_the_design():
    assert len(CELLS) == len(ROLES) * len(CAPABILITIES) * len(TARGETS)
    # Spot checks that the table was transcribed the right way round.
    assert expected("sa_viewer", OPERATE, "granted_va") is False
    assert expected("va_user", OPERATE, "va_below") is True
    assert expected("va_user", OPERATE, "parent_va") is False
    assert expected("va_admin", STRUCTURE, "smart_account") is False


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", ROLES)
def test_visible_virtual_accounts_follow_the_role_table(acme, role, capability):
    user = cast(role, acme)
    SmartAccountFactory()  # another account's tree, never visible to Acme's people
    acme_vas = {acme.root, acme.us, acme.finance, acme.sacramento, acme.sales, acme.emea, acme.paris}
    want = {ALL: acme_vas, SUBTREE: {acme.finance, acme.sacramento}, NONE: set()}[reach(role, capability)]

    # (A holding member's own holding account is covered by the holding test below.)
    customer_vas = permissions.visible(user, VirtualAccount, capability).exclude(smart_account__kind="holding")
    assert set(customer_vas) == want


@pytest.mark.parametrize("role", ["va_admin", "va_user", "va_viewer"])
def test_va_role_sees_its_subtree_and_not_its_parent_nor_other_branches(acme, role):
    user = UserFactory()
    give_role(user, role, acme.finance)

    visible = set(permissions.visible(user, VirtualAccount))

    assert visible == {acme.finance, acme.sacramento}
    assert acme.us not in visible and acme.emea not in visible and acme.root not in visible
    assert list(permissions.visible(user, SmartAccount)) == [acme.sa]


def test_navigation_shows_the_path_above_a_va_role_and_nothing_of_other_branches(acme):
    user = UserFactory()
    give_role(user, Role.VA_USER, acme.finance)

    navigation = set(permissions.navigation_virtual_accounts(user, acme.sa))

    assert navigation == {acme.root, acme.us, acme.finance, acme.sacramento}
    # The path is for navigating only: no right on it.
    assert not permissions.can(user, VIEW, acme.us)
    assert not permissions.can(user, VIEW, acme.root)


def test_navigation_shows_the_whole_tree_to_sa_roles(acme):
    user = UserFactory()
    give_role(user, Role.SA_VIEWER, acme.sa)

    assert permissions.navigation_virtual_accounts(user, acme.sa).count() == 7


def test_navigation_shows_nothing_without_a_role(acme):
    assert not permissions.navigation_virtual_accounts(UserFactory(), acme.sa).exists()
    assert not permissions.navigation_virtual_accounts(AnonymousUser(), acme.sa).exists()


def test_va_admin_restructures_strictly_below_its_va(acme):
    user = UserFactory()
    give_role(user, Role.VA_ADMIN, acme.us)

    assert permissions.can_restructure(user, acme.finance)
    assert permissions.can_restructure(user, acme.sacramento)
    assert permissions.can_restructure(user, acme.sales)
    assert not permissions.can_restructure(user, acme.us)  # its own VA
    assert not permissions.can_restructure(user, acme.root)
    assert not permissions.can_restructure(user, acme.emea)


def test_sa_admin_restructures_anywhere_but_the_root(acme):
    user = UserFactory()
    give_role(user, Role.SA_ADMIN, acme.sa)

    for va in (acme.us, acme.finance, acme.sacramento, acme.sales, acme.emea, acme.paris):
        assert permissions.can_restructure(user, va), va.name
    assert not permissions.can_restructure(user, acme.root)


@pytest.mark.parametrize("role", ["sa_user", "sa_viewer", "va_user", "va_viewer"])
def test_only_admins_restructure(acme, role):
    user = cast(role, acme)

    assert not any(permissions.can_restructure(user, va) for va in (acme.us, acme.finance, acme.sacramento))


def test_holding_account_is_held_by_its_members_only(acme, holding, holding_member, partner_user):
    other_partners_holding = HoldingAccountFactory()
    sa_admin = cast("sa_admin", acme)

    assert permissions.can(holding_member, HOLD, holding)
    assert permissions.can(holding_member, HOLD, holding.default_virtual_account)
    assert permissions.can(holding_member, VIEW, holding)
    for capability in (OPERATE, STRUCTURE, ADMINISTER):
        assert not permissions.can(holding_member, capability, holding), capability
    assert not permissions.can(holding_member, HOLD, other_partners_holding)
    assert not permissions.can(holding_member, HOLD, acme.sa)
    # A user of the same partner who did not join, and a customer's admin: nothing.
    assert not permissions.can(partner_user, HOLD, holding)
    assert not any(permissions.can(sa_admin, c, holding) for c in CAPABILITIES)
    assert set(permissions.visible(holding_member, SmartAccount, HOLD)) == {holding}


def test_staff_see_and_may_do_everything(acme, staff_user):
    other = SmartAccountFactory()

    for capability in (VIEW, OPERATE, STRUCTURE, ADMINISTER):
        for target in TARGETS.values():
            assert permissions.can(staff_user, capability, getattr(acme, target)), (capability, target)
    assert set(permissions.visible(staff_user, SmartAccount)) == {acme.sa, other}
    assert permissions.visible(staff_user, VirtualAccount).count() == 8
    assert permissions.can_restructure(staff_user, acme.finance)


@pytest.mark.parametrize("nobody", ["anonymous", "none", "inactive"])
def test_anonymous_and_inactive_users_see_nothing(acme, nobody):
    if nobody == "anonymous":
        user = AnonymousUser()
    elif nobody == "none":
        user = None
    else:
        user = cast("sa_admin", acme)
        user.is_active = False
        user.save()

    for capability in CAPABILITIES:
        for target in TARGETS.values():
            assert not permissions.can(user, capability, getattr(acme, target))
        assert not permissions.visible(user, SmartAccount, capability).exists()
        assert not permissions.visible(user, VirtualAccount, capability).exists()
    assert not permissions.can_restructure(user, acme.finance)


def test_revoking_a_role_removes_access_at_once(acme, acme_admin):
    user = UserFactory(email="vic@acme.example")
    role = services.role_grant(smart_account=acme.sa, email=user.email, role=Role.VA_USER,
                               virtual_account=acme.finance, actor=acme_admin)
    assert permissions.can(user, OPERATE, acme.sacramento)
    assert permissions.visible(user, VirtualAccount).count() == 2

    services.role_revoke(role=role, actor=acme_admin)

    assert not permissions.can(user, VIEW, acme.finance)
    assert not permissions.can(user, VIEW, acme.sa)
    assert not permissions.visible(user, VirtualAccount).exists()
    assert not permissions.visible(user, SmartAccount).exists()


def test_a_role_in_one_account_gives_nothing_in_another(acme):
    user = cast("sa_admin", acme)
    other = SmartAccountFactory()

    assert not any(permissions.can(user, c, other) for c in CAPABILITIES)
    assert not permissions.can(user, VIEW, other.default_virtual_account)


def test_can_on_an_object_in_a_va_follows_its_va(acme):
    user = UserFactory()
    give_role(user, Role.VA_VIEWER, acme.finance)
    in_finance = EventFactory(smart_account=acme.sa, virtual_account=acme.finance)
    in_emea = EventFactory(smart_account=acme.sa, virtual_account=acme.emea)

    assert permissions.can(user, VIEW, in_finance)
    assert not permissions.can(user, VIEW, in_emea)
    assert set(permissions.visible(user, Event)) == {in_finance}


def test_account_wide_rows_are_visible_to_sa_roles(acme):
    sa_viewer = cast("sa_viewer", acme)
    va_viewer = cast("va_viewer", acme)
    account_wide = EventFactory(smart_account=acme.sa, virtual_account=None, action="role.granted")
    in_finance = EventFactory(smart_account=acme.sa, virtual_account=acme.finance)
    EventFactory()  # another account's

    assert set(permissions.visible(sa_viewer, Event)) == {account_wide, in_finance}
    assert set(permissions.visible(va_viewer, Event)) == {in_finance}


@pytest.mark.parametrize("role", [*ROLES, "staff"])
def test_sees_whole_account_only_when_the_per_row_check_would_keep_every_row(acme, role):
    # The shortcut (read the account without the per-row check) may never show more than it.
    user = UserFactory(is_staff=True) if role == "staff" else cast(role, acme)
    EventFactory(smart_account=acme.sa, virtual_account=None, action="role.granted")
    EventFactory(smart_account=acme.sa, virtual_account=acme.finance)
    EventFactory(smart_account=acme.sa, virtual_account=acme.emea)
    every_row = set(Event.objects.filter(smart_account=acme.sa))
    keeps_every_row = set(permissions.visible(user, Event).filter(smart_account=acme.sa)) == every_row

    assert permissions.sees_whole_account(user, acme.sa) is keeps_every_row
    assert keeps_every_row is (role in ("sa_admin", "sa_user", "sa_viewer", "staff"))
    assert permissions.sees_whole_account(user, acme.sa, OPERATE) is (role in ("sa_admin", "sa_user", "staff"))
    assert permissions.sees_whole_account(user, SmartAccountFactory()) is (role == "staff")


def test_sees_whole_account_is_no_for_anonymous_and_inactive_users(acme):
    inactive = UserFactory(is_staff=True, is_active=False)

    assert permissions.sees_whole_account(AnonymousUser(), acme.sa) is False
    assert permissions.sees_whole_account(inactive, acme.sa) is False


def test_get_or_404_hides_invisible_objects_and_forbids_visible_ones(acme):
    viewer = cast("va_viewer", acme)

    with pytest.raises(Http404):
        permissions.get_or_404(viewer, VirtualAccount.objects.all(), VIEW, pk=acme.emea.pk)
    with pytest.raises(PermissionDenied):
        permissions.get_or_404(viewer, VirtualAccount.objects.all(), OPERATE, pk=acme.finance.pk)
    assert permissions.get_or_404(viewer, VirtualAccount.objects.all(), VIEW, pk=acme.finance.pk) == acme.finance


# --- a constant number of queries -------------------------------------------------------------

def _grow_tree(acme, total: int) -> None:
    """Add Virtual Accounts to Acme until it has `total`, half below Finance, half elsewhere."""
    parents = [fresh(acme.finance), fresh(acme.emea)]
    n = VirtualAccount.objects.filter(smart_account=acme.sa).count()
    while n < total:
        parent = fresh(parents[n % 2])
        child = VirtualAccountFactory(parent=parent, name=f"Branch {n}")
        if n % 6 == 0:
            parents.append(child)  # some depth, too
        n += 1


@pytest.mark.parametrize("size", [10, 200])
@pytest.mark.parametrize("role", ["sa_viewer", "va_viewer", "va_admin"])
def test_visible_runs_one_query_whatever_the_tree_size(acme, django_assert_num_queries, role, size):
    _grow_tree(acme, size)
    user = cast(role, acme)

    with django_assert_num_queries(1):  # the VAs, with the role look-up as a subquery
        vas = list(permissions.visible(user, VirtualAccount))
    with django_assert_num_queries(1):
        operable = list(permissions.visible(user, VirtualAccount, OPERATE))
    with django_assert_num_queries(1):
        accounts = list(permissions.visible(user, SmartAccount))

    assert VirtualAccount.objects.filter(smart_account=acme.sa).count() == size
    below_finance = fresh(acme.finance).get_descendants(include_self=True)
    if role == "sa_viewer":
        assert len(vas) == size and operable == []
    else:
        assert set(vas) == set(below_finance)
        assert set(operable) == (set(below_finance) if role == "va_admin" else set())
    assert accounts == [acme.sa]


@pytest.mark.parametrize("size", [10, 200])
def test_navigation_runs_two_queries_whatever_the_tree_size(acme, django_assert_num_queries, size):
    _grow_tree(acme, size)
    user = cast("va_viewer", acme)

    # 1: does the user hold an SA role (whole tree)? 2: the VAs on or above their VA roles.
    with django_assert_num_queries(2):
        navigation = list(permissions.navigation_virtual_accounts(user, acme.sa))

    assert {acme.root, acme.us, acme.finance} <= set(navigation)
    assert acme.emea not in navigation


@pytest.mark.parametrize("size", [10, 200])
def test_can_runs_one_query_whatever_the_tree_size(acme, django_assert_num_queries, size):
    _grow_tree(acme, size)
    user = cast("va_user", acme)
    deep = VirtualAccount.objects.filter(smart_account=acme.sa, level__gte=3).order_by("-level").first()
    in_subtree = deep.is_descendant_of(fresh(acme.finance), include_self=True)

    with django_assert_num_queries(1):
        assert permissions.can(user, OPERATE, acme.sacramento)
    with django_assert_num_queries(1):
        assert permissions.can(user, VIEW, deep) is in_subtree


def test_can_on_an_account_wide_row_needs_an_account_wide_role(acme):
    account_wide = EventFactory(smart_account=acme.sa, virtual_account=None)

    assert permissions.can(cast("sa_viewer", acme), VIEW, account_wide)
    assert not permissions.can(cast("va_admin", acme), VIEW, account_wide)
