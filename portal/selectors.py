"""Cross-app reads for portal pages (portal may import every app)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Sum

from accounts import permissions
from accounts.models import SmartAccount, VirtualAccount
from accounts.permissions import STRUCTURE, VIEW
from licensing.models import Device, Shortage
from licensing.selectors import active_entitlements

# The account home's search lists this many Virtual Accounts (type more of the name for others).
SEARCH_RESULTS = 20


@dataclass
class TreeNode:
    va: VirtualAccount
    can_view: bool  # False: on the path to the user's Virtual Accounts, shown for navigation only
    licenses: int = 0
    devices: int = 0
    subtree_licenses: int = 0
    subtree_devices: int = 0
    shortage_products: int = 0  # products in shortage in this VA's own pool
    has_children: bool = False
    expanded: bool = False  # its children come with it (else they are fetched on demand)
    can_create_child: bool = False
    can_restructure: bool = False  # rename, move, delete


@dataclass(frozen=True)
class SearchHit:
    va: VirtualAccount
    path: list[VirtualAccount]  # its ancestors, root first


class _Bucket(Func):
    """The number of the first of `bounds` that a value is below: CASE WHEN x < b0 THEN 0 WHEN
    x < b1 THEN 1 … END. Written out here rather than as Case(When(…)) per bound, which Django
    takes about a millisecond a bound to build (most of a tree page's time outside the database)."""

    output_field = IntegerField()

    def __init__(self, expression, bounds: list[int]):
        super().__init__(expression)
        self.bounds = bounds

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        whens = " ".join(f"WHEN {sql} < %s THEN {i}" for i in range(len(self.bounds)))
        return f"CASE {whens} END", [param for bound in self.bounds for param in (*params, bound)]


def _rollups(queryset: QuerySet, aggregate, nodes: list[TreeNode]) -> tuple[dict[int, int], dict[int, int]]:
    """`aggregate` over the rows of `queryset` (rows with a `virtual_account`) in each viewable
    node's own Virtual Account, and below each viewable node whose children are not shown: two
    dicts by node id. One query, one pass over the rows of the nodes' part of the tree.

    The rows are put in buckets by their VA's lft: a node's own VA is [lft, lft + 1), below an
    unexpanded node is [lft + 1, rght). Nodes come in lft order and an expanded node has all its
    children shown, so the buckets follow each other without overlapping (gaps: VAs the user
    does not see) and the expanded nodes' subtrees are added up from their children."""
    viewable = [node for node in nodes if node.can_view]
    if not viewable:
        return {}, {}
    own: dict[int, int] = {}
    below: dict[int, int] = {}
    start = cursor = viewable[0].va.lft
    bounds: list[int] = []  # each bucket's end (exclusive), in order
    owners: list[tuple[dict, int] | None] = []
    for node in viewable:
        va = node.va
        if va.lft > cursor:
            bounds.append(va.lft)
            owners.append(None)
        bounds.append(va.lft + 1)
        owners.append((own, va.pk))
        cursor = va.lft + 1
        if node.has_children and not node.expanded:
            bounds.append(va.rght)
            owners.append((below, va.pk))
            cursor = va.rght
    rows = (
        # An account's Virtual Accounts are one tree (one root per account).
        queryset.filter(virtual_account__tree_id=viewable[0].va.tree_id, virtual_account__lft__gte=start,
                        virtual_account__lft__lt=cursor)
        .annotate(bucket=_Bucket(F("virtual_account__lft"), bounds)).order_by().values_list("bucket").annotate(total=aggregate)
    )
    for i, total in rows:
        if owners[i] is not None:
            totals, pk = owners[i]
            totals[pk] = total
    return own, below


def _nodes(rights: permissions.TreeRights, virtual_accounts: QuerySet[VirtualAccount]) -> list[TreeNode]:
    """`virtual_accounts` (shown of what the user navigates: whole levels, each node with all
    its children or none) as tree nodes in tree order, with the user's rights on each, and for
    those they may view: own and subtree licenses and devices, and the products in shortage.
    Four queries, whatever the size of the tree below the nodes.

    Everything below a node the user may view is viewable too (roles inherit downwards), so a
    subtree's totals need no permission check per Virtual Account."""
    vas = list(virtual_accounts.order_by("tree_id", "lft"))
    shown_parents = {va.parent_id for va in vas}
    nodes = [
        TreeNode(
            va=va, can_view=rights.can(VIEW, va),
            # Below a viewable node all is viewable; a navigation-only node is on a path downwards.
            has_children=va.rght - va.lft > 1, expanded=va.pk in shown_parents,
            can_create_child=rights.can(STRUCTURE, va),
            # As permissions.can_restructure: SA admins anywhere, VA admins strictly below their VA.
            can_restructure=va.parent_id is not None and rights.can(STRUCTURE, va, strictly_below=True),
        )
        for va in vas
    ]
    licenses, licenses_below = _rollups(active_entitlements(), Sum("quantity"), nodes)
    devices, devices_below = _rollups(Device.objects.all(), Count("pk"), nodes)
    viewable = [node.va.pk for node in nodes if node.can_view]
    shortages = dict(
        Shortage.objects.filter(virtual_account__in=viewable, cleared_at__isnull=True)
        .order_by().values_list("virtual_account").annotate(n=Count("pk"))
    ) if viewable else {}
    by_pk = {node.va.pk: node for node in nodes}
    # Roll the totals up: nodes come in lft order, so walk them backwards (children first).
    for node in reversed(nodes):
        if not node.can_view:
            continue
        pk = node.va.pk
        node.licenses, node.devices = licenses.get(pk, 0), devices.get(pk, 0)
        node.shortage_products = shortages.get(pk, 0)
        node.subtree_licenses += node.licenses + licenses_below.get(pk, 0)
        node.subtree_devices += node.devices + devices_below.get(pk, 0)
        parent = by_pk.get(node.va.parent_id)
        if parent is not None:
            parent.subtree_licenses += node.subtree_licenses
            parent.subtree_devices += node.subtree_devices
    return nodes


def account_tree_top(rights: permissions.TreeRights, *, open_pk: int | None = None) -> tuple[list[TreeNode], VirtualAccount | None]:
    """The part of the account's tree its home opens with: the root and its children; for a
    user limited to part of the tree, the path down to their Virtual Accounts and the children
    of those; and the path down to the default VA and to the VA `open_pk` (returned, None if
    the user does not see it in the tree). Deeper levels are fetched a level at a time
    (`virtual_account_children`). A fixed number of queries."""
    smart_account = rights.smart_account
    navigable = permissions.navigation_virtual_accounts(rights.user, smart_account)
    opened = navigable.filter(pk=open_pk).first() if open_pk is not None else None
    # A node is shown with all its siblings: every condition is on its parent.
    shown = Q(level__lte=1)
    for va in rights.subtrees(VIEW) or ():
        shown |= Q(parent__tree_id=va.tree_id, parent__lft__lte=va.lft, parent__rght__gte=va.rght)
    for va in (smart_account.default_virtual_account, opened):
        if va is not None:
            shown |= Q(parent__tree_id=va.tree_id, parent__lft__lt=va.lft, parent__rght__gt=va.rght)
    return _nodes(rights, navigable.filter(shown)), opened


def virtual_account_children(rights: permissions.TreeRights, parent_pk: int) -> list[TreeNode] | None:
    """The children of the Virtual Account `parent_pk` that the user sees in the account's tree,
    as tree nodes; None if the user does not see that VA in the tree. A fixed number of queries."""
    navigable = permissions.navigation_virtual_accounts(rights.user, rights.smart_account)
    if not navigable.filter(pk=parent_pk).exists():
        return None
    return _nodes(rights, navigable.filter(parent_id=parent_pk))


def virtual_account_tree(user, smart_account: SmartAccount) -> list[TreeNode]:
    """The whole tree as the user may see it (path above their VAs shown for navigation only),
    depth-first, with licenses and devices per node and per subtree (what bench/run/'s bare
    SQL answers; the account home opens with `account_tree_top` only). A fixed number of queries."""
    rights = permissions.TreeRights(user, smart_account)
    return _nodes(rights, permissions.navigation_virtual_accounts(user, smart_account))


def virtual_account_search(user, smart_account: SmartAccount, query: str) -> tuple[list[SearchHit], bool]:
    """The Virtual Accounts the user navigates whose name contains `query`, in tree order, each
    with its path from the root; and whether there are more than SEARCH_RESULTS. Two queries."""
    navigable = permissions.navigation_virtual_accounts(user, smart_account)
    found = list(navigable.filter(name__icontains=query).order_by("tree_id", "lft")[: SEARCH_RESULTS + 1])
    more, found = len(found) > SEARCH_RESULTS, found[:SEARCH_RESULTS]
    if not found:
        return [], False
    # The ancestors of all hits at once (the path above a VA one navigates is navigable too).
    above = reduce(or_, (Q(tree_id=va.tree_id, lft__lt=va.lft, rght__gt=va.rght) for va in found))
    ancestors = list(navigable.filter(above).order_by("tree_id", "lft"))
    hits = [
        SearchHit(va=va, path=[a for a in ancestors if a.tree_id == va.tree_id and a.lft < va.lft and a.rght > va.rght])
        for va in found
    ]
    return hits, more
