"""Virtual Accounts (DESIGN.md §2, §3): create, rename, move and delete, and who may."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts import services
from accounts.models import Event, Role, VirtualAccount
from tests.factories import DeviceFactory, EntitlementFactory, SmartAccountFactory, UserFactory

from .conftest import fresh, give_role

pytestmark = pytest.mark.django_db


def error_keys(excinfo) -> set[str]:
    return set(excinfo.value.message_dict)


def tree(sa) -> list[tuple[int, str]]:
    """The account's tree in depth-first order, as (level, name)."""
    return list(VirtualAccount.objects.filter(smart_account=sa).order_by("tree_id", "lft").values_list("level", "name"))


def assert_tree_consistent(sa) -> None:
    """lft/rght nest properly: MPTT bookkeeping survived whatever the test did."""
    nodes = list(VirtualAccount.objects.filter(smart_account=sa).order_by("lft"))
    root = nodes[0]
    assert root.parent_id is None and root.lft == 1 and root.rght == 2 * len(nodes)
    for node in nodes[1:]:
        parent = next(n for n in nodes if n.pk == node.parent_id)
        assert parent.lft < node.lft < node.rght < parent.rght
        assert node.level == parent.level + 1


@pytest.fixture
def va_admin_of_us(acme):
    user = UserFactory()
    give_role(user, Role.VA_ADMIN, acme.us)
    return user


# --- create -----------------------------------------------------------------------------------

def test_sa_admin_creates_nested_virtual_accounts(acme, acme_admin):
    west = services.virtual_account_create(parent=acme.us, name="  West   Coast ", actor=acme_admin)
    services.virtual_account_create(parent=west, name="Oakland", actor=acme_admin)

    assert west.name == "West Coast"
    assert (3, "Oakland") in tree(acme.sa)
    assert Event.objects.filter(smart_account=acme.sa, action="virtual_account.created").count() == 2
    assert_tree_consistent(acme.sa)


def test_names_are_unique_among_siblings_case_insensitive(acme, acme_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_create(parent=acme.us, name="FINANCE", actor=acme_admin)

    assert error_keys(excinfo) == {"name"}
    assert VirtualAccount.objects.filter(name__iexact="finance").count() == 1


def test_the_same_name_is_fine_under_another_parent(acme, acme_admin):
    services.virtual_account_create(parent=acme.emea, name="Finance", actor=acme_admin)

    assert VirtualAccount.objects.filter(smart_account=acme.sa, name="Finance").count() == 2


def test_va_admin_creates_below_its_va(acme, va_admin_of_us):
    services.virtual_account_create(parent=acme.us, name="Marketing", actor=va_admin_of_us)
    services.virtual_account_create(parent=acme.finance, name="Fresno", actor=va_admin_of_us)

    assert {(2, "Marketing"), (3, "Fresno")} <= set(tree(acme.sa))


def test_va_admin_cannot_create_outside_its_subtree(acme, va_admin_of_us):
    for parent in (acme.root, acme.emea):
        with pytest.raises(PermissionDenied):
            services.virtual_account_create(parent=parent, name="Rogue", actor=va_admin_of_us)
    assert not VirtualAccount.objects.filter(name="Rogue").exists()


@pytest.mark.parametrize("role", [Role.SA_USER, Role.SA_VIEWER])
def test_sa_user_and_viewer_cannot_create_virtual_accounts(acme, role):
    user = UserFactory()
    give_role(user, role, acme.sa)

    with pytest.raises(PermissionDenied):
        services.virtual_account_create(parent=acme.us, name="Marketing", actor=user)
    assert not VirtualAccount.objects.filter(name="Marketing").exists()


@pytest.mark.parametrize("role", [Role.VA_USER, Role.VA_VIEWER])
def test_va_user_and_viewer_cannot_create_virtual_accounts(acme, role):
    user = UserFactory()
    give_role(user, role, acme.us)

    with pytest.raises(PermissionDenied):
        services.virtual_account_create(parent=acme.us, name="Marketing", actor=user)


# --- rename -------------------------------------------------------------------------------

def test_rename(acme, acme_admin):
    va = services.virtual_account_rename(virtual_account=acme.sales, name="Sales & Marketing", actor=acme_admin)

    assert fresh(acme.sales).name == "Sales & Marketing" == va.name
    event = Event.objects.get(smart_account=acme.sa, action="virtual_account.renamed")
    assert event.detail == {"from": "Sales", "to": "Sales & Marketing"}
    assert_tree_consistent(acme.sa)


def test_rename_to_a_siblings_name_is_refused_case_insensitive(acme, acme_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_rename(virtual_account=acme.sales, name="finance", actor=acme_admin)

    assert error_keys(excinfo) == {"name"}
    assert fresh(acme.sales).name == "Sales"


def test_rename_may_change_only_the_case_of_its_own_name(acme, acme_admin):
    services.virtual_account_rename(virtual_account=acme.sales, name="SALES", actor=acme_admin)

    assert fresh(acme.sales).name == "SALES"


def test_va_admin_cannot_rename_its_own_va_but_may_rename_below_it(acme, va_admin_of_us):
    with pytest.raises(PermissionDenied):
        services.virtual_account_rename(virtual_account=acme.us, name="USA", actor=va_admin_of_us)
    assert fresh(acme.us).name == "US"

    services.virtual_account_rename(virtual_account=acme.finance, name="Treasury", actor=va_admin_of_us)
    assert fresh(acme.finance).name == "Treasury"


def test_sa_user_cannot_rename(acme):
    user = UserFactory()
    give_role(user, Role.SA_USER, acme.sa)

    with pytest.raises(PermissionDenied):
        services.virtual_account_rename(virtual_account=acme.sales, name="Sold", actor=user)


# --- move ---------------------------------------------------------------------------------

def test_move_within_the_account(acme, acme_admin):
    services.virtual_account_move(virtual_account=acme.finance, parent=acme.emea, actor=acme_admin)

    finance = fresh(acme.finance)
    assert finance.parent == acme.emea
    assert [va.name for va in fresh(acme.sacramento).get_ancestors(include_self=True)] == ["DEFAULT", "EMEA", "Finance", "Sacramento"]
    assert Event.objects.get(smart_account=acme.sa, action="virtual_account.moved").detail == {"from": "US", "to": "EMEA"}
    assert_tree_consistent(acme.sa)


@pytest.mark.parametrize("target", ["us", "finance", "sacramento"])
def test_moving_under_itself_or_its_own_descendant_is_refused(acme, acme_admin, target):
    before = tree(acme.sa)

    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_move(virtual_account=acme.us, parent=getattr(acme, target), actor=acme_admin)

    assert error_keys(excinfo) == {"parent"}
    assert tree(acme.sa) == before


def test_moving_to_another_smart_account_is_refused(acme, acme_admin):
    other = SmartAccountFactory()
    give_role(acme_admin, Role.SA_ADMIN, other)  # admin of both: the rule, not the right, refuses it
    before = tree(acme.sa)

    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_move(virtual_account=acme.finance, parent=other.default_virtual_account, actor=acme_admin)

    assert error_keys(excinfo) == {"parent"}
    assert tree(acme.sa) == before
    assert tree(other) == [(0, "DEFAULT")]


def test_moving_next_to_a_sibling_of_the_same_name_is_refused(acme, acme_admin):
    services.virtual_account_create(parent=acme.emea, name="finance", actor=acme_admin)

    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_move(virtual_account=acme.finance, parent=acme.emea, actor=acme_admin)

    assert error_keys(excinfo) == {"name"}
    assert fresh(acme.finance).parent == acme.us


def test_va_admin_moves_only_within_its_subtree(acme, va_admin_of_us):
    services.virtual_account_move(virtual_account=acme.sacramento, parent=acme.sales, actor=va_admin_of_us)
    assert fresh(acme.sacramento).parent == acme.sales

    with pytest.raises(PermissionDenied):  # out of its subtree
        services.virtual_account_move(virtual_account=acme.sales, parent=acme.emea, actor=va_admin_of_us)
    with pytest.raises(PermissionDenied):  # its own VA
        services.virtual_account_move(virtual_account=acme.us, parent=acme.emea, actor=va_admin_of_us)
    assert fresh(acme.sales).parent == acme.us and fresh(acme.us).parent == acme.root


# --- delete -------------------------------------------------------------------------------

def test_delete_an_empty_virtual_account(acme, acme_admin):
    services.virtual_account_delete(virtual_account=acme.paris, actor=acme_admin)

    assert not VirtualAccount.objects.filter(pk=acme.paris.pk).exists()
    assert Event.objects.get(smart_account=acme.sa, action="virtual_account.deleted").detail == {"name": "Paris", "parent": "EMEA"}
    assert_tree_consistent(acme.sa)


def test_deleting_a_virtual_account_with_children_is_refused_with_a_clear_message(acme, acme_admin):
    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_delete(virtual_account=acme.us, actor=acme_admin)

    assert error_keys(excinfo) == {"virtual_account"}
    message = excinfo.value.message_dict["virtual_account"][0]
    assert "US" in message and "below" in message
    assert VirtualAccount.objects.filter(smart_account=acme.sa).count() == 7


@pytest.mark.parametrize("holds", ["licenses", "devices"])
def test_deleting_a_virtual_account_holding_licenses_or_devices_is_refused(acme, acme_admin, holds):
    if holds == "licenses":
        EntitlementFactory(virtual_account=acme.sacramento)
    else:
        DeviceFactory(virtual_account=acme.sacramento)
    before = list(VirtualAccount.objects.filter(smart_account=acme.sa).order_by("pk").values_list("pk", "lft", "rght"))

    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_delete(virtual_account=acme.sacramento, actor=acme_admin)

    assert error_keys(excinfo) == {"virtual_account"}
    assert "licenses or devices" in excinfo.value.message_dict["virtual_account"][0]
    # The VA is there, and the tree numbering was not half-closed around it.
    assert list(VirtualAccount.objects.filter(smart_account=acme.sa).order_by("pk").values_list("pk", "lft", "rght")) == before
    assert not Event.objects.filter(action="virtual_account.deleted").exists()


def test_deleting_the_default_virtual_account_is_refused(acme, acme_admin):
    services.smart_account_set_default_virtual_account(virtual_account=acme.paris, actor=acme_admin)

    with pytest.raises(ValidationError) as excinfo:
        services.virtual_account_delete(virtual_account=acme.paris, actor=acme_admin)

    assert error_keys(excinfo) == {"virtual_account"}
    assert VirtualAccount.objects.filter(pk=acme.paris.pk).exists()


def test_va_admin_deletes_below_its_va_but_not_its_va(acme, va_admin_of_us):
    services.virtual_account_delete(virtual_account=acme.sales, actor=va_admin_of_us)
    assert not VirtualAccount.objects.filter(pk=acme.sales.pk).exists()

    with pytest.raises(PermissionDenied):
        services.virtual_account_delete(virtual_account=acme.paris, actor=va_admin_of_us)
    assert VirtualAccount.objects.filter(pk=acme.paris.pk).exists()


# --- the root -------------------------------------------------------------------------------

@pytest.mark.parametrize("change", ["rename", "move", "delete"])
@pytest.mark.parametrize("who", ["sa_admin", "staff", "system"])
def test_root_cannot_be_renamed_moved_or_deleted(acme, acme_admin, staff_user, change, who):
    actor = {"sa_admin": acme_admin, "staff": staff_user, "system": None}[who]
    before = tree(acme.sa)

    with pytest.raises(ValidationError):
        if change == "rename":
            services.virtual_account_rename(virtual_account=acme.root, name="Everything", actor=actor)
        elif change == "move":
            services.virtual_account_move(virtual_account=acme.root, parent=acme.us, actor=actor)
        else:
            services.virtual_account_delete(virtual_account=acme.root, actor=actor)

    assert tree(acme.sa) == before
