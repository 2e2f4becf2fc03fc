"""Cross-app reads for portal pages (portal may import every app)."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Sum

from accounts import permissions
from accounts.models import SmartAccount, VirtualAccount
from licensing.models import Device
from licensing.selectors import active_entitlements


@dataclass
class TreeNode:
    va: VirtualAccount
    can_view: bool
    licenses: int = 0
    devices: int = 0
    subtree_licenses: int = 0
    subtree_devices: int = 0
    has_children: bool = False
    children: list = field(default_factory=list)


def virtual_account_tree(user, smart_account: SmartAccount) -> list[TreeNode]:
    """The tree as the user may see it (path above their VAs shown for navigation only),
    depth-first, with licenses and devices per node and per subtree. Four queries, whatever
    the tree size."""
    nodes = list(
        permissions.navigation_virtual_accounts(user, smart_account).order_by("tree_id", "lft")
    )
    viewable = set(
        permissions.visible_virtual_accounts(user).filter(smart_account=smart_account).values_list("pk", flat=True)
    )
    va_ids = [va.pk for va in nodes]
    licenses = dict(
        active_entitlements().filter(virtual_account__in=va_ids).values_list("virtual_account").annotate(q=Sum("quantity"))
    )
    devices = dict(Device.objects.filter(virtual_account__in=va_ids).values_list("virtual_account").annotate(c=Count("pk")))
    by_pk = {}
    result = []
    for va in nodes:
        can_view = va.pk in viewable
        node = TreeNode(va=va, can_view=can_view,
                        licenses=licenses.get(va.pk, 0) if can_view else 0,
                        devices=devices.get(va.pk, 0) if can_view else 0)
        by_pk[va.pk] = node
        result.append(node)
    # Roll counts up the tree: nodes come in lft order, so walk them backwards (children first).
    for node in reversed(result):
        node.subtree_licenses += node.licenses
        node.subtree_devices += node.devices
        parent = by_pk.get(node.va.parent_id)
        if parent is not None:
            parent.has_children = True
            parent.subtree_licenses += node.subtree_licenses
            parent.subtree_devices += node.subtree_devices
    return result
