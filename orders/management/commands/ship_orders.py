"""`python manage.py ship_orders [--order SO-100001] [--before 2025-01-31] [--shipped-on DATE] [--dry-run]`:
ship booked order lines as the system, through the same service as the admin and the API."""
from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from lib.admin import reasons
from orders import services
from orders.models import Order
from orders.selectors import lines_for_shipping


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).")


class Command(BaseCommand):
    help = "Ship every booked order line (or those of one order, or of orders placed before a date)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--order", metavar="NUMBER", help="only this order, e.g. SO-100001")
        parser.add_argument("--before", metavar="DATE", type=_date, help="only orders placed before this day (YYYY-MM-DD)")
        parser.add_argument("--shipped-on", metavar="DATE", type=_date, help="the ship date (default: today)")
        parser.add_argument("--dry-run", action="store_true", help="list what would ship, change nothing")

    def handle(self, *args, order=None, before=None, shipped_on=None, dry_run=False, **options) -> None:
        if order and not Order.objects.filter(number__iexact=order.strip()).exists():
            raise CommandError(f"No order {order}.")
        by_order: dict[int, list[int]] = defaultdict(list)
        for line in lines_for_shipping(order_number=order, placed_before=before):
            by_order[line.order_id].append(line.pk)
        total = sum(len(ids) for ids in by_order.values())
        if dry_run:
            self.stdout.write(f"{total} line(s) of {len(by_order)} order(s) would ship.")
            return

        states: Counter[str] = Counter()
        failures: list[str] = []
        for order_id, line_ids in by_order.items():
            order_obj = Order.objects.get(pk=order_id)
            try:
                # One order at a time, in one transaction: its emails group its lines.
                shipped = services.order_ship(order=order_obj, actor=None, lines=line_ids, shipped_on=shipped_on)
            except (ValidationError, PermissionDenied):
                # Something on this order cannot ship: ship the rest line by line, report the others.
                shipped = []
                for line_id in line_ids:
                    try:
                        shipped.append(services.order_line_ship(line=line_id, actor=None, shipped_on=shipped_on))
                    except (ValidationError, PermissionDenied) as exc:
                        failures.append(reasons(exc))
            for line in shipped:
                states[line.state] += 1

        done = sum(states.values())
        detail = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
        self.stdout.write(f"Shipped {done} of {total} line(s) in {len(by_order)} order(s)" + (f": {detail}." if detail else "."))
        for failure in failures:
            self.stderr.write(f"Not shipped: {failure}")
