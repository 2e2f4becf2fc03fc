"""Stage "orders": the partner's orders and their lines in every state, sized so that each pool
holds about what its devices use; and what shipping them deposited (entitlements, PAKs)."""
from __future__ import annotations

import datetime
from collections import defaultdict

from accounts.models import Invitation, InvitationPurpose
from lib.dates import add_months
from licensing.models import ClassicLicense, Entitlement, EntitlementSource, LicenseKind
from orders.models import Order, OrderLine, OrderLineState

from .db import _bulk_load
from .plan import LINE_QUANTITIES, _Account, _allocate, _cuts, _Line, _Order, _Product, _sha
from .sizes import HISTORY_DAYS


class OrdersStage:
    """Part of `seeder._Seeder`: plans and writes the orders stage (after the devices: it reads their usage)."""

    def plan_orders(self) -> None:
        rng, size, today = self.rng, self.size, self.today
        lines: list[_Line] = []
        pool_vas = [self.va_by_id[i] for a in self.pool_accounts for i in a.va_ids]
        customer_weights = [4.0 if a is self.big else rng.lognormvariate(0, 1) for a in self.customers]

        def end_customer() -> _Account:
            return rng.choices(self.customers, weights=customer_weights)[0]

        product_weights = [p.weight for p in self.products]

        def orderable() -> _Product:
            return rng.choices(self.products, weights=product_weights)[0]

        def active_day(product: _Product) -> datetime.date:
            """A ship day from which a subscription of this product is still running (for 14+ days)."""
            low = today - datetime.timedelta(days=HISTORY_DAYS - 20)
            if product.term:
                low = max(low, add_months(today, -product.term) + datetime.timedelta(days=15))
            return low + datetime.timedelta(days=rng.randint(0, max(0, (today - low).days - 1)))

        # What each pool holds: most pools have licenses to spare, some exactly enough, some too few.
        targets: dict[tuple[int, int], int] = {}
        for (va_id, product_id), used in sorted(self.in_use.items()):
            r = rng.random()
            if r < 0.015:
                targets[(va_id, product_id)] = 0
            elif r < 0.09:
                targets[(va_id, product_id)] = int(used * rng.uniform(0.5, 0.95))
            elif r < 0.2:
                targets[(va_id, product_id)] = used
            else:
                targets[(va_id, product_id)] = used + max(1, round(used * rng.uniform(0.05, 0.6)))
        # The busy VA: its two most used products short, the next exactly covered, the rest spare.
        busy_used = sorted(
            ((used, pid) for (va_id, pid), used in self.in_use.items() if va_id == self.busy.id), reverse=True
        )
        for rank, (used, pid) in enumerate(busy_used):
            targets[(self.busy.id, pid)] = (used // 2, used // 2, used)[rank] if rank < 3 else used + max(1, used // 4)
        # Licenses bought and not (yet) used, also in VAs without devices.
        for va in pool_vas:
            used_here = {p.id for p in self.profiles.get(va.id, ())}
            if rng.random() < (0.5 if used_here else 0.3):
                for p in rng.sample(self.smart, rng.randint(1, 3)):
                    if p.id not in used_here:
                        targets[(va.id, p.id)] = rng.randint(5, 200)

        held = size.held_lines
        booked = round(size.order_lines * 0.05)
        delegated = round(size.order_lines * 0.015)
        new_account = round(size.order_lines * 0.01) if self.new_accounts else 0
        classic = round(size.order_lines * 0.03)
        short_terms = [p for p in self.smart if p.term and p.term <= 24]
        expired = round(size.order_lines * 0.05) if short_terms else 0
        active = size.order_lines - held - booked - delegated - new_account - classic - expired
        if active < 1:
            raise ValueError("Too few order lines for this scale.")

        # Active lines: at least one per pool that holds licenses, the rest spread by pool size.
        pools = sorted((key for key, q in targets.items() if q > 0), key=lambda key: (key[0], key[1]))
        rng.shuffle(pools)
        covered, self.manual = pools[:active], pools[active:]  # pools beyond the lines: opening balances
        extra = _allocate(active - len(covered), [targets[k] - 1 for k in covered]) if covered else []
        product_by_id = {p.id: p for p in self.products}
        for key, more in zip(covered, extra or [0] * len(covered)):
            va_id, product_id = key
            va, product = self.va_by_id[va_id], product_by_id[product_id]
            for quantity in _cuts(targets[key], min(1 + more, targets[key]), rng):
                lines.append(_Line(product=product, quantity=quantity, sa=va.account, va=va,
                                   state=OrderLineState.PROVISIONED, day=active_day(product), end_sa=va.account,
                                   kind="active"))
        missing = active - len([line for line in lines if line.kind == "active"])
        for _ in range(missing):  # only when quantities were too small to split that far
            key = rng.choice(covered)
            targets[key] += 1
            va, product = self.va_by_id[key[0]], product_by_id[key[1]]
            lines.append(_Line(product=product, quantity=1, sa=va.account, va=va, state=OrderLineState.PROVISIONED,
                               day=active_day(product), end_sa=va.account, kind="active"))
        self.targets = targets
        # Subscriptions that ran out (not counted in any pool today).
        for _ in range(expired):
            product, va = rng.choice(short_terms), rng.choice(pool_vas)
            latest = add_months(today, -product.term) - datetime.timedelta(days=15)
            day = latest - datetime.timedelta(days=rng.randint(0, max(0, HISTORY_DAYS - 20 - (today - latest).days)))
            lines.append(_Line(product=product, quantity=rng.choice(LINE_QUANTITIES), sa=va.account, va=va,
                               state=OrderLineState.PROVISIONED, day=day, end_sa=va.account, kind="expired"))
        # Classic products: shipped as PAKs into the account.
        for _ in range(classic):
            account = rng.choice(self.pool_accounts)
            lines.append(_Line(product=rng.choice(self.classic), quantity=rng.choice(LINE_QUANTITIES), sa=account, va=None,
                               state=OrderLineState.PROVISIONED, day=self.days_ago(20, HISTORY_DAYS - 20), end_sa=account,
                               kind="classic"))
        # Moved out of the holding account, or assigned by the end customer, before they were provisioned.
        for line in lines:
            r = rng.random()
            if r < 0.02:
                line.held_in = self.holding
            elif r < 0.07:
                line.delegated = True
        # Waiting in the holding account (some for longer than the stale limit).
        for _ in range(held):
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=self.holding, va=None,
                               state=OrderLineState.HELD, day=self.days_ago(1, 120), end_sa=end_customer(), kind="held",
                               held_in=self.holding))
        # Shipped, delegated to the end customer, who has not chosen an account yet.
        for _ in range(delegated):
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=None, va=None, delegated=True,
                               state=OrderLineState.AWAITING_ACCOUNT, day=self.days_ago(1, 60), end_sa=end_customer(),
                               kind="delegated"))
        # Shipped into accounts that are not activated yet.
        for _ in range(new_account):
            account = rng.choice(self.new_accounts)
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=account,
                               va=self.root_of(account) if rng.random() < 0.5 else None,
                               state=OrderLineState.AWAITING_ACCOUNT, day=self.days_ago(1, 60), end_sa=account,
                               kind="new_account"))
        # Booked: placed in the last month, not shipped yet (some delegated, some to new accounts).
        for _ in range(booked):
            account = end_customer()
            r = rng.random()
            va = None
            if r < 0.25:
                sa, is_delegated = None, True
            else:
                sa, is_delegated = account, False
                if rng.random() < 0.5:
                    va = self.va_by_id[rng.choice(account.va_ids)]
            lines.append(_Line(product=orderable(), quantity=rng.choice(LINE_QUANTITIES), sa=sa, va=va,
                               delegated=is_delegated, state=OrderLineState.BOOKED, day=self.days_ago(0, 30),
                               end_sa=account, kind="booked", shipped=False))
        assert len(lines) == size.order_lines, (len(lines), size.order_lines)

        # Orders: each end customer's lines, by date, cut into orders of a few lines.
        by_customer: dict[int, list[_Line]] = defaultdict(list)
        for line in lines:
            by_customer[line.end_sa.id].append(line)
        buckets = sorted(by_customer)
        order_counts = _allocate(size.orders, [len(by_customer[b]) for b in buckets])
        # Every bucket has an order and no more orders than lines.
        for i, b in enumerate(buckets):
            order_counts[i] = max(1, min(order_counts[i], len(by_customer[b])))
        surplus = sum(order_counts) - size.orders
        index = sorted(range(len(buckets)), key=lambda i: len(by_customer[buckets[i]]) - order_counts[i], reverse=True)
        while surplus:
            before = surplus
            for i in index:
                if surplus > 0 and order_counts[i] > 1:
                    order_counts[i] -= 1
                    surplus -= 1
                elif surplus < 0 and order_counts[i] < len(by_customer[buckets[i]]):
                    order_counts[i] += 1
                    surplus += 1
                if not surplus:
                    break
            if surplus == before:
                raise ValueError("Fewer orders than end customers at this scale.")
        account_by_id = {a.id: a for a in self.accounts}
        orders: list[_Order] = []
        for b, n in zip(buckets, order_counts):
            bucket = sorted(by_customer[b], key=lambda line: line.day)
            start = 0
            for part in _cuts(len(bucket), n, rng):
                orders.append(_Order(bucket[start:start + part], account_by_id[b]))
                start += part
        for order in orders:
            first = min(line.day for line in order.lines)
            order.placed_at = self.at(first - datetime.timedelta(days=rng.randint(0, 3)))
            order.placed_by = rng.choice(self.order_desk)
            order.reseller_id = rng.choice(self.resellers) if rng.random() < 0.1 else None
        orders.sort(key=lambda o: o.placed_at)
        line_id = 0
        for n, order in enumerate(orders, start=1):
            order.id, order.number = n, f"SO-{100000 + n}"
            for number, line in enumerate(order.lines, start=1):
                line_id += 1
                line.id, line.order, line.number = line_id, order, number
                if line.state == OrderLineState.PROVISIONED:
                    line.provisioned_at = max(self.at(line.day, hour=12), order.placed_at)
                    if line.held_in is not None or line.delegated:  # waited before it was moved
                        waited = datetime.timedelta(days=rng.randint(1, 20))
                        line.provisioned_at = min(line.provisioned_at + waited, self.now)
        self.orders = orders
        self.lines = [line for order in orders for line in order.lines]
        self.planned = len(orders) + 3 * len(self.lines)

    def write_orders(self) -> None:
        through = (OrderLine.entitlements.through, OrderLine.classic_licenses.through)
        with _bulk_load(Order, OrderLine, Entitlement, ClassicLicense, *through):
            self._write_orders()

    def _write_orders(self) -> None:
        db = self.db
        db.load(Order, ("id", "number", "partner", "reseller", "placed_by", "end_customer_name", "end_customer_email",
                        "placed_at"),
                ((o.id, o.number, 1, o.reseller_id, o.placed_by, o.end_sa.name, o.end_sa.admin_email, o.placed_at)
                 for o in self.orders))
        db.load(OrderLine, ("id", "order", "number", "product", "quantity", "smart_account", "virtual_account", "delegated",
                            "state", "shipped_on", "starts_on", "ends_on", "held_in", "provisioned_at"),
                ((line.id, line.order.id, line.number, line.product.id, line.quantity, line.sa.id if line.sa else None,
                  line.va.id if line.va else None, line.delegated, line.state, line.shipped_on, line.starts_on, line.ends_on,
                  line.held_in.id if line.held_in else None, line.provisioned_at) for line in self.lines))
        # What shipping deposited: an entitlement per smart line, a PAK per classic line.
        entitlements, line_entitlements, paks, line_paks = [], [], [], []
        for line in self.lines:
            if line.state != OrderLineState.PROVISIONED:
                continue
            reference = f"{line.order.number} line {line.number}"
            if line.product.kind == LicenseKind.SMART:
                entitlement_id = len(entitlements) + 1
                entitlements.append((entitlement_id, line.va.id, line.product.id, line.quantity, line.starts_on, line.ends_on,
                                     EntitlementSource.ORDER, reference, line.provisioned_at))
                line_entitlements.append((line.id, entitlement_id))
            else:
                pak_id = len(paks) + 1
                paks.append((pak_id, line.sa.id, line.product.id, f"BP{pak_id:06d}-{_sha(reference)[:5].upper()}",
                             line.quantity, reference, line.provisioned_at, "", ""))
                line_paks.append((line.id, pak_id))
        for va_id, product_id in self.manual:  # opening balances of the pools no order line covers
            entitlements.append((len(entitlements) + 1, va_id, product_id, self.targets[(va_id, product_id)], None,
                                 None, EntitlementSource.MANUAL, "Opening balance", self.va_by_id[va_id].created_at))
        db.load(Entitlement, ("id", "virtual_account", "product", "quantity", "starts_on", "ends_on", "source", "source_ref",
                              "created_at"), entitlements)
        db.load(OrderLine.entitlements.through, ("orderline", "entitlement"), line_entitlements)
        db.load(ClassicLicense, ("id", "smart_account", "product", "pak", "quantity", "source_ref", "created_at",
                                 "device_serial", "license_key"), paks)
        db.load(OrderLine.classic_licenses.through, ("orderline", "classiclicense"), line_paks)
        # The links emailed to end customers for the lines they have to place.
        db.load(Invitation, ("key", "purpose", "email", "object_key", "created_at", "expires_at"),
                ((_sha(f"bench-line-{line.id}")[:43], InvitationPurpose.ASSIGN_ORDER_LINE, line.order.end_sa.admin_email,
                  f"{OrderLine._meta.label_lower}:{line.id}", line.order.placed_at,
                  line.order.placed_at + datetime.timedelta(days=14))
                 for line in self.lines if line.delegated and line.sa is None))
