"""The Virtual Account tree of the account home, loaded on demand: the page shows the top of the
tree (and the path to the default VA, to the user's own VAs, to a VA asked for), each node's
expand control fetches its children, and a search box finds a VA by name with its path. Every
node keeps its licenses, devices, subtree totals and shortage badge; what a user sees is what
the page showed them before (their part of the tree, the path above it for navigation only)."""
import re

import pytest

from accounts import permissions, services
from accounts.models import Role, VirtualAccount
from portal import selectors
from tests.factories import DeviceFactory, EntitlementFactory, ShortageFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    """DEFAULT > US > Finance > Sacramento > Downtown and DEFAULT > EMEA > Paris; alice is SA
    admin. Licenses: DEFAULT 1, Finance 3, Sacramento 5, Downtown 2, Paris 4; devices: Sacramento
    2, Downtown 1, EMEA 1; US is short of one product."""
    alice = UserFactory(email="alice@acme.example")
    sa = services.smart_account_create(name="Acme", domain="acme.example", actor=alice)
    root = sa.default_virtual_account
    us = services.virtual_account_create(parent=root, name="US", actor=alice)
    finance = services.virtual_account_create(parent=us, name="Finance", actor=alice)
    sacramento = services.virtual_account_create(parent=finance, name="Sacramento", actor=alice)
    downtown = services.virtual_account_create(parent=sacramento, name="Downtown", actor=alice)
    emea = services.virtual_account_create(parent=root, name="EMEA", actor=alice)
    paris = services.virtual_account_create(parent=emea, name="Paris", actor=alice)
    for va, quantity in ((root, 1), (finance, 3), (sacramento, 5), (downtown, 2), (paris, 4)):
        EntitlementFactory(virtual_account=va, quantity=quantity)
    for va in (sacramento, sacramento, downtown, emea):
        DeviceFactory(virtual_account=va)
    ShortageFactory(virtual_account=us)
    return {"sa": sa, "alice": alice, "root": root, "us": us, "finance": finance, "sacramento": sacramento,
            "downtown": downtown, "emea": emea, "paris": paris}


def _grant(acme, email, role, va=None):
    user = UserFactory(email=email)
    services.role_grant(smart_account=acme["sa"], email=email, role=role, virtual_account=va, actor=acme["alice"])
    return user


def _page(client, acme, query="") -> str:
    response = client.get(f"/sa/{acme['sa'].pk}/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _children_url(acme, va) -> str:
    return f"/sa/{acme['sa'].pk}/tree/{va.pk}/children/"


def _children(client, acme, va) -> str:
    response = client.get(_children_url(acme, va))
    assert response.status_code == 200
    return response.content.decode()


def _rows(html: str) -> dict[str, dict]:
    """The tree's rows by Virtual Account name: level, the four numbers, and the row's HTML."""
    rows = {}
    for match in re.finditer(r'<tr id="va-\d+"[^>]*data-level="(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        row = match.group(0)
        name = re.search(r'(?:title="[^"]*"|class="fw-semibold"[^>]*)>([^<]+)</(?:a|span)>', row).group(1)
        numbers = [int(n) for n in re.findall(r'<td class="text-end[^"]*">(\d+)</td>', row)]
        rows[name] = {"level": int(match.group(1)), "numbers": numbers, "html": row}
    return rows


def test_the_page_shows_the_root_and_its_children_with_their_subtree_totals(client, acme):
    client.force_login(acme["alice"])
    rows = _rows(_page(client, acme))

    assert list(rows) == ["DEFAULT", "EMEA", "US"]
    # Licenses, licenses in subtree, devices, devices in subtree.
    assert rows["DEFAULT"]["numbers"] == [1, 15, 0, 4]
    assert rows["US"]["numbers"] == [0, 10, 0, 3]
    assert rows["EMEA"]["numbers"] == [0, 4, 1, 1]
    assert "1 short" in rows["US"]["html"]
    # Nodes with children below them get an expand control that fetches those children.
    assert f'hx-get="{_children_url(acme, acme["us"])}"' in rows["US"]["html"]
    assert 'aria-expanded="true"' in rows["DEFAULT"]["html"] and "hx-get" not in rows["DEFAULT"]["html"]


def test_expanding_a_node_fetches_its_children_with_their_totals(client, acme):
    client.force_login(acme["alice"])

    below_us = _rows(_children(client, acme, acme["us"]))
    assert list(below_us) == ["Finance"]
    assert below_us["Finance"]["level"] == 2 and below_us["Finance"]["numbers"] == [3, 10, 0, 3]
    assert f'hx-get="{_children_url(acme, acme["finance"])}"' in below_us["Finance"]["html"]
    below_finance = _rows(_children(client, acme, acme["finance"]))
    assert below_finance["Sacramento"]["numbers"] == [5, 7, 2, 3]
    below_sacramento = _rows(_children(client, acme, acme["sacramento"]))
    assert below_sacramento["Downtown"]["numbers"] == [2, 2, 1, 1]
    assert "va-toggle" not in below_sacramento["Downtown"]["html"]  # a leaf
    assert _children(client, acme, acme["downtown"]).strip() == ""


@pytest.mark.parametrize("role", [Role.SA_VIEWER, Role.VA_USER])
def test_the_totals_shown_level_by_level_are_those_of_the_whole_tree(client, acme, role):
    user = _grant(acme, "vic@acme.example", role, acme["us"] if role == Role.VA_USER else None)
    whole = {node.va.pk: node for node in selectors.virtual_account_tree(user, acme["sa"])}
    rights = permissions.TreeRights(user, acme["sa"])
    shown, _ = selectors.account_tree_top(rights)
    for va in VirtualAccount.objects.filter(smart_account=acme["sa"]):
        shown += selectors.virtual_account_children(rights, va.pk) or []
    assert {node.va.pk for node in shown} == set(whole)
    for node in shown:
        expected = whole[node.va.pk]
        assert (node.can_view, node.licenses, node.subtree_licenses, node.devices, node.subtree_devices,
                node.shortage_products) == (expected.can_view, expected.licenses, expected.subtree_licenses,
                                            expected.devices, expected.subtree_devices, expected.shortage_products)


def test_the_page_opens_the_path_to_the_default_virtual_account(client, acme):
    services.smart_account_set_default_virtual_account(virtual_account=acme["sacramento"], actor=acme["alice"])
    client.force_login(acme["alice"])
    rows = _rows(_page(client, acme))

    assert list(rows) == ["DEFAULT", "EMEA", "US", "Finance", "Sacramento"]
    assert ">default</span>" in rows["Sacramento"]["html"]
    assert "Downtown" not in rows


def test_open_shows_the_path_to_a_virtual_account_and_marks_it(client, acme):
    client.force_login(acme["alice"])
    rows = _rows(_page(client, acme, f"?open={acme['downtown'].pk}"))

    assert list(rows) == ["DEFAULT", "EMEA", "US", "Finance", "Sacramento", "Downtown"]
    assert "va-found" in rows["Downtown"]["html"] and "va-found" not in rows["Sacramento"]["html"]
    assert rows["Sacramento"]["numbers"] == [5, 7, 2, 3]  # expanded: its subtree added up from Downtown


def test_an_open_that_names_no_virtual_account_is_ignored(client, acme):
    client.force_login(acme["alice"])
    plain = list(_rows(_page(client, acme)))
    for query in ("?open=0", f"?open={2**63}", "?open=²", "?open=abc"):  # "²".isdigit(), yet int("²") fails
        assert list(_rows(_page(client, acme, query))) == plain, query


def test_a_va_user_sees_the_path_to_their_virtual_account_and_its_children_only(client, acme):
    bob = _grant(acme, "bob@acme.example", Role.VA_USER, acme["finance"])
    client.force_login(bob)
    rows = _rows(_page(client, acme, f"?open={acme['paris'].pk}"))  # not theirs: ignored

    assert list(rows) == ["DEFAULT", "US", "Finance", "Sacramento"]
    assert 'title="Shown for navigation only">US<' in rows["US"]["html"] and rows["US"]["numbers"] == []
    assert rows["Finance"]["numbers"] == [3, 10, 0, 3]
    assert 'class="va-found' not in _page(client, acme, f"?open={acme['paris'].pk}")
    # Expanding the path shows only the way to their VA; what is beside it is not there.
    assert list(_rows(_children(client, acme, acme["root"]))) == ["US"]
    assert client.get(_children_url(acme, acme["emea"])).status_code == 404
    assert client.get(_children_url(acme, acme["paris"])).status_code == 404


def test_children_of_another_accounts_virtual_account_or_for_an_outsider_are_404(client, acme):
    other_admin = UserFactory(email="olga@other.example")
    other = services.smart_account_create(name="Other", domain="other.example", actor=other_admin)
    client.force_login(acme["alice"])
    assert client.get(f"/sa/{acme['sa'].pk}/tree/{other.default_virtual_account.pk}/children/").status_code == 404
    assert client.get(f"/sa/{acme['sa'].pk}/tree/99999999999999999999/children/").status_code == 404
    client.force_login(other_admin)
    assert client.get(_children_url(acme, acme["root"])).status_code == 404
    assert client.get(f"/sa/{acme['sa'].pk}/tree/search/?q=US").status_code == 404
    client.logout()
    assert client.get(_children_url(acme, acme["root"])).status_code == 302


def test_search_finds_a_deep_virtual_account_with_its_path(client, acme):
    client.force_login(acme["alice"])
    html = client.get(f"/sa/{acme['sa'].pk}/tree/search/", {"q": "town"}).content.decode()

    assert f'href="/sa/{acme["sa"].pk}/?open={acme["downtown"].pk}#va-{acme["downtown"].pk}"' in html
    path = re.sub(r"<[^>]+>|\s+", " ", html[html.index("?open="):html.index("</a>")])
    assert re.search(r"DEFAULT\s+US\s+Finance\s+Sacramento\s+Downtown", path)
    assert "No Virtual Account" in client.get(f"/sa/{acme['sa'].pk}/tree/search/", {"q": "Atlantis"}).content.decode()
    assert client.get(f"/sa/{acme['sa'].pk}/tree/search/", {"q": " "}).content.decode().strip() == ""


def test_search_finds_only_what_the_user_sees_in_the_tree(client, acme):
    bob = _grant(acme, "bob@acme.example", Role.VA_VIEWER, acme["finance"])
    client.force_login(bob)
    html = client.get(f"/sa/{acme['sa'].pk}/tree/search/", {"q": "a"}).content.decode()

    assert "Sacramento" in html and "Finance" in html
    assert "Paris" not in html and "EMEA" not in html


def test_search_lists_the_first_twenty(client, acme):
    for i in range(selectors.SEARCH_RESULTS + 1):
        services.virtual_account_create(parent=acme["emea"], name=f"Branch {i:02d}", actor=acme["alice"])
    client.force_login(acme["alice"])
    html = client.get(f"/sa/{acme['sa'].pk}/tree/search/", {"q": "branch"}).content.decode()

    assert html.count("list-group-item-action") == selectors.SEARCH_RESULTS
    assert "type more of the name" in html


def test_row_actions_share_one_form_and_one_csrf_token(client, acme):
    client.force_login(acme["alice"])
    client.handler.enforce_csrf_checks = True
    html = _page(client, acme, f"?open={acme['downtown'].pk}")
    tree = html[html.index('id="va-tree-heading"'):]

    assert tree.count('name="csrfmiddlewaretoken"') == 1
    # Delete, and set default, on the five rows below DEFAULT (the default).
    assert tree.count('form="va-actions"') == 2 * 5
    downtown = _rows(html)["Downtown"]["html"]
    assert f'formaction="/sa/virtual-accounts/{acme["downtown"].pk}/delete/"' in downtown
    assert f'formaction="/sa/virtual-accounts/{acme["downtown"].pk}/default/"' in downtown
    token = re.search(r'id="va-actions"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(f"/sa/virtual-accounts/{acme['downtown'].pk}/default/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    acme["sa"].refresh_from_db()
    assert acme["sa"].default_virtual_account_id == acme["downtown"].pk


def test_a_va_admin_restructures_below_their_virtual_account_only(client, acme):
    val = _grant(acme, "val@acme.example", Role.VA_ADMIN, acme["us"])
    client.force_login(val)
    rows = _rows(_page(client, acme)) | _rows(_children(client, acme, acme["us"]))

    assert "Add below US" in rows["US"]["html"] and "Rename or move US" not in rows["US"]["html"]
    assert "Rename or move Finance" in rows["Finance"]["html"] and "Delete Finance" in rows["Finance"]["html"]
    assert "Set default" not in rows["Finance"]["html"]  # an SA admin's setting
    assert "Add below" not in rows["DEFAULT"]["html"]


def test_creating_or_renaming_a_virtual_account_returns_to_the_tree_opened_at_it(client, acme):
    client.force_login(acme["alice"])
    response = client.post(f"/sa/{acme['sa'].pk}/virtual-accounts/new/",
                           {"name": "Midtown", "parent": acme["sacramento"].pk, "description": ""})
    midtown = VirtualAccount.objects.get(name="Midtown")
    assert response["Location"] == f"/sa/{acme['sa'].pk}/?open={midtown.pk}#va-{midtown.pk}"
    assert "va-found" in _rows(_page(client, acme, f"?open={midtown.pk}"))["Midtown"]["html"]

    response = client.post(f"/sa/virtual-accounts/{midtown.pk}/edit/",
                           {"name": "Uptown", "parent": acme["emea"].pk, "description": ""})
    assert response["Location"] == f"/sa/{acme['sa'].pk}/?open={midtown.pk}#va-{midtown.pk}"
