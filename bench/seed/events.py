"""Stage "events": the event log of everything the earlier stages planned, in time order."""
from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.models import Permission

from accounts.models import Event, SmartAccountKind, SmartAccountStatus
from orders.models import OrderLineState

from .. import dataset
from .db import _bulk_load
from .plan import _detail, _Line


class EventsStage:
    """Part of `seeder._Seeder`: plans and writes the events stage (last: it logs every other stage's rows)."""

    def plan_events(self) -> None:
        ev, email, staff = self.event, self.email_of, self.staff_id
        staff_email = email[staff]
        for a in self.accounts:
            if a.kind == SmartAccountKind.HOLDING:
                ev(a.created_at, a.id, None, a.requested_by_id, email[a.requested_by_id], "holding_account.created",
                   "smartaccount", a.id, f"{a.name} (holding account)", _detail())
            elif a.status == SmartAccountStatus.NEW:
                ev(a.created_at, a.id, None, a.requested_by_id, email[a.requested_by_id], "smart_account.requested",
                   "smartaccount", a.id, f"{a.name} ({a.domain})", _detail(contact=a.admin_email))
            else:
                ev(a.created_at, a.id, None, a.admin_id, email[a.admin_id], "smart_account.created", "smartaccount", a.id,
                   f"{a.name} ({a.domain})", _detail())
        for va in self.vas:
            if va.parent is not None:
                a = va.account
                ev(va.created_at, a.id, va.id, a.admin_id, email.get(a.admin_id), "virtual_account.created",
                   "virtualaccount", va.id, f"{a.name} / {va.name}", _detail(parent=va.parent.name))
        grants = [(row, False) for row in self.sa_roles] + [(row, True) for row in self.va_roles]
        accounts = {a.id: a for a in self.accounts}
        codename = dict(Permission.objects.filter(content_type__app_label="accounts").values_list("pk", "codename"))
        for (row_id, user_id, perm, target, granted_by, granted), on_va in grants:
            va = self.va_by_id[target] if on_va else None
            a = va.account if va else accounts[target]
            ev(granted, a.id, va.id if va else None, granted_by, email.get(granted_by), "role.granted",
               "smartaccountrole" if not on_va else "virtualaccountrole", row_id,
               f"{email[user_id]}: {codename[perm]} on {a.name if va is None else f'{a.name} / {va.name}'}",
               _detail(user=email[user_id], role=codename[perm], scope="account" if va is None else va.name))
        va_by_id = self.va_by_id
        for device_id, va_id, registered, _ in self.devices:
            va = va_by_id[va_id]
            hostname = f"dev-{device_id:06d}.{va.account.domain}"
            ev(registered, va.account.id, va_id, None, "system", "device.registered", "device", device_id,
               f"{hostname} (BN-HW-{device_id % 97:02d})",
               _detail(serial_number=f"BNC{device_id:08d}", hostname=hostname, product_id=f"BN-HW-{device_id % 97:02d}",
                       token=f"slrt_{self.token_of[va_id]:07d}"))
        for order in self.orders:
            by_account: dict[int, list[_Line]] = defaultdict(list)
            for line in order.lines:
                # A delegated line names no account when it is placed; a held one its holding account.
                target = line.held_in if line.held_in is not None else None if line.delegated else line.sa
                if target is not None:
                    by_account[target.id].append(line)
            for sa_id, lines in by_account.items():
                # A line parked in the holding account named no VA of the customer's yet.
                vas = {None if sa_id == self.holding.id else line.va.id if line.va else None for line in lines}
                ev(order.placed_at, sa_id, vas.pop() if len(vas) == 1 else None, order.placed_by, email[order.placed_by],
                   "order.placed", "order", order.id, f"{order.number} for {order.end_sa.name}",
                   _detail(order=order.number, partner=dataset.PARTNER_NAME, end_customer=order.end_sa.name,
                           lines=[{"line": line.number, "sku": line.product.sku, "quantity": line.quantity}
                                  for line in lines]))
            for line in order.lines:
                repr_ = f"{order.number}/{line.number}: {line.quantity} × {line.product.sku}"
                detail = {"order": order.number, "line": line.number, "sku": line.product.sku, "quantity": line.quantity}
                if line.state == OrderLineState.PROVISIONED:
                    if line.held_in is not None:
                        ev(self.at(line.day, hour=9), line.held_in.id, None, staff, staff_email, "order_line.shipped",
                           "orderline", line.id, repr_, _detail(**detail, shipped_on=line.day.isoformat(), state="held"))
                        who = order.placed_by
                        ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, who, email[who],
                           "order_line.moved", "orderline", line.id, repr_,
                           _detail(**detail, **{"from": dataset.HOLDING_ACCOUNT_NAME, "partner": dataset.PARTNER_NAME,
                                                "to": line.sa.name, "domain": line.sa.domain}))
                    if line.delegated:
                        who = line.sa.admin_id
                        ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, who, email[who],
                           "order_line.assigned", "orderline", line.id, repr_, _detail(**detail, by="end customer"))
                    ev(line.provisioned_at, line.sa.id, line.va.id if line.va else None, staff, staff_email,
                       "order_line.provisioned", "orderline", line.id, repr_, _detail(**detail))
                elif line.state in (OrderLineState.HELD, OrderLineState.AWAITING_ACCOUNT) and line.sa is not None:
                    ev(self.at(line.day, hour=9), line.sa.id, line.va.id if line.va else None, staff, staff_email,
                       "order_line.shipped", "orderline", line.id, repr_,
                       _detail(**detail, shipped_on=line.day.isoformat(), state=line.state))
        product_by_id = {p.id: p for p in self.products}
        for started, va_id, product_id, shortage_id, missing, bought, used in self.shortages:
            va, product = va_by_id[va_id], product_by_id[product_id]
            ev(started, va.account.id, va_id, None, "system", "compliance.shortage_started", "shortage", shortage_id,
               f"Shortage of {product.sku} in {va.name} since {started:%Y-%m-%d} (open)",
               _detail(sku=product.sku, product=product.name, virtual_account_name=va.name, purchased=bought,
                       in_use=used, shortage=missing, cause="usage reported"))
        self.events.sort(key=lambda e: e[0])
        self.planned = len(self.events)

    def write_events(self) -> None:
        with _bulk_load(Event):
            self.db.load(Event, ("created_at", "smart_account", "virtual_account", "actor", "actor_label", "action",
                                 "object_type", "object_id", "object_repr", "detail"), self.events)
