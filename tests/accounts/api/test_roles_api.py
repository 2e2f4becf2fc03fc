"""Roles (DESIGN.md §3): SA admins list, grant and revoke every role of their account; a VA
admin the VA roles of its own subtree; a revoked role stops working at once."""
from __future__ import annotations

import pytest

from accounts.models import Role, SmartAccountRole, VirtualAccountRole

from tests.factories import SmartAccountRoleFactory, UserFactory, VirtualAccountFactory, VirtualAccountRoleFactory
from tests.worlds.api_acme import acme, call_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def roles_url(w) -> str:
    return f"/api/v1/smart-accounts/{w.sa.pk}/roles/"


@pytest.fixture
def newcomer(db):
    return UserFactory(email="newcomer@acme.com")


# --- listing -------------------------------------------------------------------------------------


def test_sa_admin_lists_every_role_sa_roles_first_then_va_roles_in_tree_order(acme, call_as):
    body = call_as("sa_admin").get(roles_url(acme)).json()
    assert body["count"] == 9
    assert [(r["user_email"], r["role"], r["virtual_account"]) for r in body["results"]] == [
        ("sa-admin@acme.com", "sa_admin", None),
        ("sa-user@acme.com", "sa_user", None),
        ("sa-viewer@acme.com", "sa_viewer", None),
        ("va-admin-emea@acme.com", "va_admin", acme.emea.pk),
        ("va-user-emea@acme.com", "va_user", acme.emea.pk),
        ("va-viewer-emea@acme.com", "va_viewer", acme.emea.pk),
        ("va-admin-us@acme.com", "va_admin", acme.us.pk),
        ("va-user-us@acme.com", "va_user", acme.us.pk),
        ("va-viewer-us@acme.com", "va_viewer", acme.us.pk),
    ]
    row = SmartAccountRole.objects.get(user=acme.users["sa_admin"])
    assert body["results"][0] == {
        "id": str(row.pk), "user": acme.users["sa_admin"].pk, "user_email": "sa-admin@acme.com", "role": "sa_admin",
        "smart_account": acme.sa.pk, "virtual_account": None, "granted_by": None,
        "granted_at": body["results"][0]["granted_at"],
    }


def test_va_admin_lists_only_the_va_roles_of_its_subtree(acme, call_as):
    VirtualAccountRoleFactory(user=UserFactory(email="clerk@acme.com"), content_object=acme.sacramento,
                              role=Role.VA_VIEWER)
    body = call_as("va_admin").get(roles_url(acme)).json()
    assert [(r["user_email"], r["virtual_account"]) for r in body["results"]] == [
        ("va-admin-us@acme.com", acme.us.pk),
        ("va-user-us@acme.com", acme.us.pk),
        ("va-viewer-us@acme.com", acme.us.pk),
        ("clerk@acme.com", acme.sacramento.pk),
    ]


@pytest.mark.parametrize("extra", [2, 30])
@pytest.mark.parametrize("caller, queries", [
    # API key (with its user), its last-use update, the account if visible, the SA admin check,
    # SA roles, VA roles (each with user, role and granter).
    ("sa_admin", 6),
    # … the SA admin check fails, the VA admin check, the VA roles of the subtree.
    ("va_admin", 6),
])
def test_role_list_takes_the_same_queries_for_few_and_many(acme, call_as, caller, queries, extra,
                                                           django_assert_num_queries):
    for user in UserFactory.create_batch(extra):
        SmartAccountRoleFactory(user=user, content_object=acme.sa, role=Role.SA_VIEWER)
        VirtualAccountRoleFactory(user=user, content_object=acme.finance, role=Role.VA_USER, granted_by=user)
    client = call_as(caller)
    with django_assert_num_queries(queries):
        assert client.get(roles_url(acme)).status_code == 200


# --- granting ------------------------------------------------------------------------------------


def test_sa_admin_grants_an_sa_role(acme, call_as, newcomer):
    response = call_as("sa_admin").post(roles_url(acme), {"user_email": "NEWCOMER@acme.com", "role": "sa_user"},
                                        format="json")
    assert response.status_code == 201
    row = SmartAccountRole.objects.get(user=newcomer)
    assert (row.content_object, row.permission.codename, row.granted_by) == (acme.sa, "sa_user", acme.users["sa_admin"])
    assert response.json()["id"] == str(row.pk)
    assert (response.json()["virtual_account"], response.json()["granted_by"]) == (None, "sa-admin@acme.com")


def test_va_admin_grants_a_va_role_in_its_subtree(acme, call_as, newcomer):
    response = call_as("va_admin").post(
        roles_url(acme), {"user_email": newcomer.email, "role": "va_user", "virtual_account": acme.sacramento.pk},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["virtual_account"] == acme.sacramento.pk
    assert VirtualAccountRole.objects.get(user=newcomer).content_object == acme.sacramento


def test_va_admin_cannot_grant_sa_roles(acme, call_as, newcomer):
    response = call_as("va_admin").post(roles_url(acme), {"user_email": newcomer.email, "role": "sa_viewer"},
                                        format="json")
    assert response.status_code == 403
    assert not SmartAccountRole.objects.filter(user=newcomer).exists()


def test_va_admin_cannot_grant_above_its_subtree(acme, call_as, newcomer):
    # DEFAULT is on the path to US (named, not administered by the VA admin).
    response = call_as("va_admin").post(
        roles_url(acme), {"user_email": newcomer.email, "role": "va_viewer", "virtual_account": acme.root.pk},
        format="json",
    )
    assert response.status_code == 403
    assert not VirtualAccountRole.objects.filter(user=newcomer).exists()


def test_granting_another_role_on_the_same_scope_replaces_the_old_one(acme, call_as):
    response = call_as("sa_admin").post(roles_url(acme), {"user_email": "sa-viewer@acme.com", "role": "sa_user"},
                                        format="json")
    assert response.status_code == 201
    assert [r.permission.codename for r in SmartAccountRole.objects.filter(user=acme.users["sa_viewer"])] == ["sa_user"]


@pytest.mark.parametrize(
    "body, field",
    [
        (lambda w: {"user_email": "ghost@acme.com", "role": "sa_user"}, "user_email"),
        (lambda w: {"user_email": "newcomer@acme.com", "role": "va_user"}, "virtual_account"),
        (lambda w: {"user_email": "newcomer@acme.com", "role": "sa_user", "virtual_account": w.finance.pk},
         "virtual_account"),
        (lambda w: {"user_email": "newcomer@acme.com", "role": "va_user",
                    "virtual_account": VirtualAccountFactory().pk}, "virtual_account"),  # another account's
        (lambda w: {"user_email": "newcomer@acme.com", "role": "owner"}, "role"),
        (lambda w: {"user_email": "newcomer@acme.com"}, "role"),
    ],
    ids=["unknown-user", "va-role-without-va", "sa-role-with-va", "va-of-another-account", "unknown-role", "no-role"],
)
def test_invalid_grant_is_field_keyed_400_and_grants_nothing(acme, call_as, newcomer, body, field):
    response = call_as("sa_admin").post(roles_url(acme), body(acme), format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not SmartAccountRole.objects.filter(user=newcomer).exists()
    assert not VirtualAccountRole.objects.filter(user=newcomer).exists()


# --- revoking ------------------------------------------------------------------------------------


def role_url(row) -> str:
    return f"/api/v1/roles/{row.pk}/"


def test_revoking_removes_access_at_once(acme, call_as):
    viewer = call_as("sa_viewer")
    assert viewer.get(f"/api/v1/smart-accounts/{acme.sa.pk}/").status_code == 200
    row = SmartAccountRole.objects.get(user=acme.users["sa_viewer"])
    assert call_as("sa_admin").delete(role_url(row)).status_code == 204
    assert viewer.get(f"/api/v1/smart-accounts/{acme.sa.pk}/").status_code == 404
    assert viewer.get(f"/api/v1/virtual-accounts/{acme.finance.pk}/").status_code == 404


def test_revoking_a_va_role_removes_that_subtree_at_once(acme, call_as):
    row = VirtualAccountRole.objects.get(user=acme.users["va_user"])
    assert call_as("va_admin").delete(role_url(row)).status_code == 204
    assert call_as("va_user").get(f"/api/v1/virtual-accounts/{acme.finance.pk}/").status_code == 404


def test_the_last_sa_admin_cannot_be_revoked(acme, call_as):
    row = SmartAccountRole.objects.get(user=acme.users["sa_admin"])
    response = call_as("sa_admin").delete(role_url(row))
    assert response.status_code == 400
    assert list(response.json()) == ["role"]
    assert SmartAccountRole.objects.filter(pk=row.pk).exists()


def test_unknown_or_malformed_role_is_404(acme, call_as):
    client = call_as("sa_admin")
    assert client.delete("/api/v1/roles/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.delete("/api/v1/roles/not-a-uuid/").status_code == 404


def test_a_role_in_an_account_the_caller_cannot_see_is_404(acme, call_as):
    row = SmartAccountRoleFactory(role=Role.SA_USER)
    assert call_as("sa_admin").delete(role_url(row)).status_code == 404
    assert SmartAccountRole.objects.filter(pk=row.pk).exists()
