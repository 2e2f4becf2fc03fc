"""Stage "catalogue": the products, smart (subscriptions and perpetual) and classic."""
from __future__ import annotations

from collections import defaultdict

from licensing.models import LicenseKind, Product

from .plan import FAMILIES, SUBSCRIPTION_TERMS, TIERS, _Product


class CatalogueStage:
    """Part of `seeder._Seeder`: plans and writes the catalogue stage."""

    def plan_catalogue(self) -> None:
        rng, count = self.rng, self.size.products
        classic = max(2, round(count * 0.05))
        smart = count - classic
        subscriptions = round(smart * 0.4)
        self.products: list[_Product] = []
        for n in range(1, count + 1):
            family, code = FAMILIES[(n - 1) % len(FAMILIES)]
            tier = TIERS[(n // len(FAMILIES)) % len(TIERS)]
            if n > smart:
                kind, term = LicenseKind.CLASSIC, None
                sku, name = f"BN-{code}-{n:04d}-K9", f"{family} {tier} right-to-use {n:04d}, PAK"
            elif n <= subscriptions:
                kind, term = LicenseKind.SMART, SUBSCRIPTION_TERMS[n % len(SUBSCRIPTION_TERMS)]
                years = term // 12
                sku, name = f"BN-{code}-{n:04d}-{years}Y", f"{family} {tier} {n:04d}, {years} year{'s' if years > 1 else ''}"
            else:
                kind, term = LicenseKind.SMART, None
                sku, name = f"BN-{code}-{n:04d}", f"{family} {tier} {n:04d}, perpetual"
            # Popularity falls off with rank: a few products are everywhere, most are niche.
            weight = 1.0 / (1 + rng.random() * count) ** 0.7
            sa_required = kind == LicenseKind.SMART and n % 3 == 0
            self.products.append(_Product(n, sku, name, family, kind, term, sa_required, weight))
        self.smart = [p for p in self.products if p.kind == LicenseKind.SMART]
        self.classic = [p for p in self.products if p.kind == LicenseKind.CLASSIC]
        by_family = defaultdict(list)
        for p in self.smart:
            by_family[p.family].append(p)
        for p in self.classic:
            if by_family[p.family] and p.id % 2:
                p.smart_equivalent_id = by_family[p.family][0].id
        self.planned = len(self.products)

    def write_catalogue(self) -> None:
        self.db.load(Product, ("id", "sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active",
                               "smart_equivalent"),
                     ((p.id, p.sku, p.name, p.family, p.kind, p.term, p.sa_required, True, p.smart_equivalent_id)
                      for p in sorted(self.products, key=lambda p: p.smart_equivalent_id is not None)))
