"""Virtual Accounts (flow 9): the tree as a flat list of what the caller may see (plus the path
to it), and create / rename / move / delete per DESIGN.md §3 with the services' rules."""
from __future__ import annotations

import pytest

from accounts.models import Event, Role, VirtualAccount

from tests.factories import (
    EntitlementFactory,
    SmartAccountFactory,
    VirtualAccountFactory,
    VirtualAccountRoleFactory,
)
from tests.worlds.api_acme import acme, call_as  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def tree_url(sa) -> str:
    return f"/api/v1/smart-accounts/{sa.pk}/virtual-accounts/"


def va_url(va) -> str:
    return f"/api/v1/virtual-accounts/{va.pk}/"


def names(results, *, visible=None) -> list[str]:
    return [va["name"] for va in results if visible is None or va["visible"] is visible]


# --- seeing the tree ------------------------------------------------------------------------------


def test_an_sa_viewer_sees_the_whole_tree_in_tree_order(acme, call_as):
    results = call_as("sa_viewer").get(tree_url(acme.sa)).json()["results"]
    assert names(results) == ["DEFAULT", "EMEA", "US", "Finance", "Sacramento"]
    assert all(va["visible"] for va in results)
    finance = next(va for va in results if va["name"] == "Finance")
    assert finance == {"id": acme.finance.pk, "name": "Finance", "parent": acme.us.pk, "level": 2, "description": "",
                       "smart_account": acme.sa.pk, "visible": True}


def test_va_user_of_us_finance_sees_finance_and_sacramento_not_emea(acme, api_as):
    clerk = VirtualAccountRoleFactory(content_object=acme.finance, role=Role.VA_USER).user
    acme.emea.description = "Europe"
    acme.emea.save()
    acme.us.description = "North America"
    acme.us.save()
    client = api_as(clerk, key=True)
    results = client.get(tree_url(acme.sa)).json()["results"]
    assert names(results, visible=True) == ["Finance", "Sacramento"]
    # The path to Finance is named, nothing more; EMEA (a sibling subtree) is absent.
    assert [(va["name"], va["description"]) for va in results if not va["visible"]] == [("DEFAULT", ""), ("US", "")]
    assert "EMEA" not in names(results)
    assert client.get(va_url(acme.sacramento)).status_code == 200
    assert client.get(va_url(acme.us)).status_code == 404
    assert client.get(va_url(acme.emea)).status_code == 404


def test_holding_account_members_get_its_virtual_account_names(acme, call_as):
    VirtualAccountFactory(parent=acme.holding.default_virtual_account, name="Spare")
    results = call_as("holding_member").get(tree_url(acme.holding)).json()["results"]
    assert [(va["name"], va["visible"]) for va in results] == [("DEFAULT", False), ("Spare", False)]


@pytest.mark.parametrize("size", [3, 40])
@pytest.mark.parametrize("caller", ["sa_user", "va_user"])
def test_tree_takes_the_same_queries_for_few_and_many(acme, call_as, caller, size, django_assert_num_queries):
    parent = acme.finance
    for n in range(size):  # a deep branch and a wide one
        parent = VirtualAccountFactory(parent=parent, name=f"Deep {n}")
        VirtualAccountFactory(parent=acme.us, name=f"Wide {n}")
    VirtualAccountRoleFactory(user=acme.users[caller], content_object=acme.finance, role=Role.VA_VIEWER)
    client = call_as(caller)
    # API key (with its user), its last-use update, the account if visible, whether the caller
    # holds an SA role in it, the count, the page (with `visible`).
    with django_assert_num_queries(6):
        assert client.get(tree_url(acme.sa), {"page_size": 500}).json()["count"] >= size


# --- creating -------------------------------------------------------------------------------------


def test_a_va_admin_creates_below_its_virtual_account(acme, call_as):
    response = call_as("va_admin").post(tree_url(acme.sa), {"name": "Payroll", "parent": acme.finance.pk,
                                                            "description": "Salaries"}, format="json")
    assert response.status_code == 201
    payroll = VirtualAccount.objects.get(name="Payroll")
    assert (payroll.parent, payroll.smart_account, payroll.description) == (acme.finance, acme.sa, "Salaries")
    assert response.json() == {"id": payroll.pk, "name": "Payroll", "parent": acme.finance.pk, "level": 3,
                               "description": "Salaries", "smart_account": acme.sa.pk, "visible": True}
    assert Event.objects.filter(action="virtual_account.created", virtual_account=payroll).exists()


def test_a_va_admin_cannot_create_beside_its_virtual_account(acme, call_as):
    response = call_as("va_admin").post(tree_url(acme.sa), {"name": "Canada", "parent": acme.root.pk}, format="json")
    assert response.status_code == 403
    assert not VirtualAccount.objects.filter(name="Canada").exists()


@pytest.mark.parametrize("name", ["Sacramento", "sacramento", " SACRAMENTO "])
def test_sibling_name_clash_is_400_keyed_name(acme, call_as, name):
    response = call_as("sa_admin").post(tree_url(acme.sa), {"name": name, "parent": acme.finance.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    assert VirtualAccount.objects.filter(parent=acme.finance).count() == 1


def test_the_same_name_under_another_parent_is_fine(acme, call_as):
    response = call_as("sa_admin").post(tree_url(acme.sa), {"name": "Sacramento", "parent": acme.emea.pk},
                                        format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        (lambda w: {"parent": w.finance.pk}, "name"),
        (lambda w: {"name": "", "parent": w.finance.pk}, "name"),
        (lambda w: {"name": "x" * 101, "parent": w.finance.pk}, "name"),
        (lambda w: {"name": "Payroll"}, "parent"),
        (lambda w: {"name": "Payroll", "parent": 999999}, "parent"),
        (lambda w: {"name": "Payroll", "parent": SmartAccountFactory().default_virtual_account.pk}, "parent"),
    ],
    ids=["no-name", "blank-name", "long-name", "no-parent", "unknown-parent", "parent-in-another-account"],
)
def test_invalid_virtual_account_is_field_keyed_400_and_creates_nothing(acme, call_as, body, field):
    body = body(acme)
    before = VirtualAccount.objects.count()
    response = call_as("sa_admin").post(tree_url(acme.sa), body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert VirtualAccount.objects.count() == before


# --- renaming and moving -----------------------------------------------------------------------------


def test_rename_with_a_description(acme, call_as):
    response = call_as("sa_admin").patch(va_url(acme.finance), {"name": "Finance and Ops", "description": "Money"},
                                         format="json")
    assert response.status_code == 200
    acme.finance.refresh_from_db()
    assert (acme.finance.name, acme.finance.description) == ("Finance and Ops", "Money")
    assert response.json()["name"] == "Finance and Ops"


def test_rename_to_a_siblings_name_is_400_keyed_name(acme, call_as):
    response = call_as("sa_admin").patch(va_url(acme.us), {"name": "emea"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]
    acme.us.refresh_from_db()
    assert acme.us.name == "US"


def test_move_within_the_account(acme, call_as):
    response = call_as("sa_admin").patch(va_url(acme.finance), {"parent": acme.emea.pk}, format="json")
    assert response.status_code == 200
    assert (response.json()["parent"], response.json()["level"]) == (acme.emea.pk, 2)
    acme.sacramento.refresh_from_db()
    assert acme.sacramento.get_ancestors().filter(pk=acme.emea.pk).exists()


@pytest.mark.parametrize("target", ["sacramento", "finance"])
def test_move_under_itself_or_its_own_descendant_is_400_keyed_parent(acme, call_as, target):
    response = call_as("sa_admin").patch(va_url(acme.finance), {"parent": getattr(acme, target).pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["parent"]
    acme.finance.refresh_from_db()
    assert acme.finance.parent_id == acme.us.pk


def test_move_to_another_account_is_400_keyed_parent(acme, call_as):
    elsewhere = SmartAccountFactory().default_virtual_account
    response = call_as("staff").patch(va_url(acme.finance), {"parent": elsewhere.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["parent"]


def test_move_into_a_sibling_with_the_same_name_is_400_keyed_name(acme, call_as):
    VirtualAccountFactory(parent=acme.emea, name="Finance")
    response = call_as("sa_admin").patch(va_url(acme.finance), {"parent": acme.emea.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["name"]


def test_a_failed_rename_undoes_the_move_of_the_same_request(acme, call_as):
    VirtualAccountFactory(parent=acme.emea, name="Treasury")
    response = call_as("sa_admin").patch(va_url(acme.finance), {"parent": acme.emea.pk, "name": "Treasury"},
                                         format="json")
    assert response.status_code == 400
    acme.finance.refresh_from_db()
    assert (acme.finance.parent_id, acme.finance.name) == (acme.us.pk, "Finance")


def test_a_va_admin_changes_what_is_below_its_virtual_account_but_not_the_virtual_account_itself(acme, call_as):
    client = call_as("va_admin")
    assert client.patch(va_url(acme.sacramento), {"parent": acme.us.pk}, format="json").status_code == 200
    assert client.patch(va_url(acme.us), {"name": "USA"}, format="json").status_code == 403
    # … nor move something out of its subtree.
    assert client.patch(va_url(acme.finance), {"parent": acme.root.pk}, format="json").status_code == 403
    acme.finance.refresh_from_db()
    assert acme.finance.parent_id == acme.us.pk


def test_the_root_is_never_renamed_moved_or_deleted(acme, call_as):
    client = call_as("sa_admin")
    response = client.patch(va_url(acme.root), {"name": "Everything"}, format="json")
    assert response.status_code == 400
    assert "DEFAULT" in response.json()["name"][0]
    assert client.delete(va_url(acme.root)).status_code == 400
    acme.root.refresh_from_db()
    assert acme.root.name == "DEFAULT"


# --- deleting -------------------------------------------------------------------------------------


def test_an_empty_virtual_account_is_deleted(acme, call_as):
    assert call_as("sa_admin").delete(va_url(acme.sacramento)).status_code == 204
    assert not VirtualAccount.objects.filter(pk=acme.sacramento.pk).exists()


def test_a_virtual_account_with_children_is_not_deleted_and_the_message_says_why(acme, call_as):
    response = call_as("sa_admin").delete(va_url(acme.us))
    assert response.status_code == 400
    assert response.json() == {
        "virtual_account": ["US still has Virtual Accounts below it; move or delete them first."]
    }
    assert VirtualAccount.objects.filter(pk=acme.us.pk).exists()


def test_a_virtual_account_with_licenses_is_not_deleted(acme, call_as):
    EntitlementFactory(virtual_account=acme.sacramento)
    response = call_as("sa_admin").delete(va_url(acme.sacramento))
    assert response.status_code == 400
    assert "licenses" in response.json()["virtual_account"][0]
    assert VirtualAccount.objects.filter(pk=acme.sacramento.pk).exists()
