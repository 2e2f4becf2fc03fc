"""`permissions.TreeRights` decides in memory, for every node a tree page shows, what `can` and
`visible_virtual_accounts` decide in SQL: the two must agree for every role, capability and
Virtual Account (the standing Acme tree of the conftest)."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions
from accounts.models import VirtualAccount
from accounts.permissions import ADMINISTER, HOLD, OPERATE, STRUCTURE, VIEW
from tests.factories import UserFactory

from .conftest import give_role

pytestmark = pytest.mark.django_db

CASTS = {
    "sa_admin": [("sa_admin", "sa")],
    "sa_user": [("sa_user", "sa")],
    "sa_viewer": [("sa_viewer", "sa")],
    "va_admin": [("va_admin", "finance")],
    "va_user": [("va_user", "finance")],
    "va_viewer": [("va_viewer", "finance")],
    # Two subtrees, one inside a subtree with a weaker role.
    "va_admin_and_viewer": [("va_admin", "paris"), ("va_viewer", "us"), ("va_admin", "sacramento")],
    "staff": [],
    "no_role": [],
}


def _user(acme, cast: str):
    user = UserFactory(is_staff=cast == "staff")
    for role, target in CASTS[cast]:
        give_role(user, role, getattr(acme, target))
    return user


@pytest.mark.parametrize("cast", CASTS)
def test_tree_rights_agree_with_the_sql_answers_on_every_virtual_account(acme, cast):
    user = _user(acme, cast)
    rights = permissions.TreeRights(user, acme.sa)
    for capability in (VIEW, OPERATE, STRUCTURE, ADMINISTER):
        for strictly_below in (False, True):
            allowed = set(permissions.visible_virtual_accounts(user, capability, strictly_below=strictly_below)
                          .filter(smart_account=acme.sa).values_list("pk", flat=True))
            for va in VirtualAccount.objects.filter(smart_account=acme.sa):
                assert rights.can(capability, va, strictly_below=strictly_below) is (va.pk in allowed), (
                    capability, strictly_below, va.name)
        if capability != VIEW:  # VIEW on an account also comes from VA roles and holding membership
            assert rights.whole_account(capability) is permissions.can(user, capability, acme.sa), capability
    assert rights.roles == permissions.roles_of(user, acme.sa)


def test_tree_rights_name_where_a_right_starts(acme):
    user = _user(acme, "va_admin_and_viewer")
    rights = permissions.TreeRights(user, acme.sa)

    assert rights.subtrees(VIEW) is not None
    assert {va.name for va in rights.subtrees(VIEW)} == {"Paris", "US", "Sacramento"}
    assert {va.name for va in rights.subtrees(STRUCTURE)} == {"Paris", "Sacramento"}
    assert permissions.TreeRights(_user(acme, "sa_viewer"), acme.sa).subtrees(VIEW) is None
    assert permissions.TreeRights(_user(acme, "sa_viewer"), acme.sa).subtrees(OPERATE) == []


def test_tree_rights_grant_nothing_to_anonymous_or_inactive_users(acme):
    inactive = UserFactory(is_staff=True, is_active=False)
    give_role(inactive, "sa_admin", acme.sa)
    for user in (AnonymousUser(), inactive):
        rights = permissions.TreeRights(user, acme.sa)
        assert not rights.whole_account(VIEW) and rights.subtrees(VIEW) == [] and not rights.can(VIEW, acme.root)


def test_tree_rights_do_not_answer_for_holding(acme):
    with pytest.raises(ValueError):
        permissions.TreeRights(UserFactory(is_staff=True), acme.sa).whole_account(HOLD)


def test_tree_rights_run_the_two_queries_of_roles_of(acme, django_assert_num_queries):
    user = _user(acme, "va_admin_and_viewer")
    with django_assert_num_queries(2):  # the SA roles, the VA roles (with their Virtual Accounts)
        rights = permissions.TreeRights(user, acme.sa)
    with django_assert_num_queries(0):
        assert rights.can(STRUCTURE, acme.sacramento) and not rights.can(STRUCTURE, acme.finance)
