"""The in-memory plan the stages fill before writing it: plain records of accounts, VAs, lines,
products and orders, the name pools they draw from, and the small helpers that split counts."""
from __future__ import annotations

import datetime
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass

from lib.dates import add_months

def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _allocate(total: int, weights: Sequence[float], cap: int | None = None) -> list[int]:
    """`total` split over `weights` in proportion (largest remainders), none above `cap`."""
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    counts = [0] * n
    open_ = list(range(n))
    left = total
    while left > 0 and open_:
        weight = sum(weights[i] for i in open_) or 1.0
        shares = [(left * weights[i] / weight, i) for i in open_]
        given = 0
        for share, i in shares:
            whole = int(share)
            if cap is not None:
                whole = min(whole, cap - counts[i])
            counts[i] += whole
            given += whole
        rest = left - given
        for _, i in sorted(shares, key=lambda s: (s[0] - int(s[0])), reverse=True):
            if rest <= 0:
                break
            if cap is None or counts[i] < cap:
                counts[i] += 1
                rest -= 1
        left = rest
        if cap is not None:
            open_ = [i for i in open_ if counts[i] < cap]
    return counts


def _cuts(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` positive integers at random."""
    if parts <= 1:
        return [total]
    points = sorted(rng.sample(range(1, total), parts - 1))
    return [b - a for a, b in zip([0, *points], [*points, total])]


def _detail(**values) -> str:
    # json.dumps' default separators, as Django's JSONField writes them (the product history
    # page searches the text of `detail` for '"sku": "…"').
    return json.dumps(values)


@dataclass
class _Account:
    id: int
    name: str
    domain: str
    kind: str
    status: str
    partner_id: int | None
    contact_id: int | None
    requested_by_id: int | None
    created_at: datetime.datetime
    activated_at: datetime.datetime | None
    admin_id: int | None  # the SA admin (or, for a new account, its contact)
    admin_email: str
    root_id: int = 0
    va_ids: list[int] | None = None


class _VA:
    __slots__ = ("id", "account", "parent", "name", "level", "lft", "rght", "tree_id", "children", "created_at", "leaf_only")

    def __init__(self, account: _Account, parent: _VA | None, name: str):
        self.id = 0
        self.account = account
        self.parent = parent
        self.name = name
        self.level = 0 if parent is None else parent.level + 1
        self.lft = self.rght = 0
        self.tree_id = account.id
        self.children: list[_VA] = []
        self.created_at = account.created_at
        self.leaf_only = False
        if parent is not None:
            parent.children.append(self)


class _Line:
    __slots__ = ("id", "order", "number", "product", "quantity", "sa", "va", "delegated", "state", "shipped_on",
                 "starts_on", "ends_on", "held_in", "provisioned_at", "end_sa", "day", "kind")

    def __init__(self, *, product, quantity, sa, va, state, day, end_sa, kind, delegated=False, shipped=True,
                 held_in=None):
        self.id = 0
        self.order = None
        self.number = 0
        self.product = product
        self.quantity = quantity
        self.sa = sa
        self.va = va
        self.delegated = delegated
        self.state = state
        self.day = day
        self.end_sa = end_sa
        self.kind = kind  # active | expired | classic | held | booked | delegated | new_account
        self.held_in = held_in
        self.shipped_on = day if shipped else None
        self.starts_on = self.ends_on = None
        if shipped and product.term:
            self.starts_on = day
            self.ends_on = add_months(day, product.term)
        self.provisioned_at = None


@dataclass
class _Product:
    id: int
    sku: str
    name: str
    family: str
    kind: str
    term: int | None
    sa_required: bool
    weight: float
    smart_equivalent_id: int | None = None


class _Order:
    __slots__ = ("id", "number", "lines", "placed_at", "end_sa", "placed_by", "reseller_id")

    def __init__(self, lines: list[_Line], end_sa: _Account):
        self.id = 0
        self.number = ""
        self.lines = lines
        self.end_sa = end_sa
        self.placed_at = None
        self.placed_by = None
        self.reseller_id = None


FAMILIES = (
    ("Switching", "SW"), ("Routing", "RT"), ("Wireless", "WL"), ("Security", "SEC"),
    ("Collaboration", "COL"), ("Data Center", "DC"), ("IoT", "IOT"), ("Cloud", "CLD"),
)
TIERS = ("Essentials", "Advantage", "Premier")
SUBSCRIPTION_TERMS = (12, 36, 12, 60, 24)
TEAM_NAMES = ("Engineering", "Finance", "Lab", "Operations", "Sales", "Support", "Warehouse")
LEVEL_NAMES = ("Region", "Country", "Area", "Site", "Building", "Floor")
# The share of the big account's non-root VAs at each level below the root (1..6).
LEVEL_SHARES = (0.004, 0.03, 0.1, 0.24, 0.36, 0.266)
USAGE_COUNTS = (1, 1, 1, 1, 1, 1, 2, 2, 4, 8, 16, 24, 48)
LINE_QUANTITIES = (1, 2, 5, 10, 10, 24, 48, 100)
