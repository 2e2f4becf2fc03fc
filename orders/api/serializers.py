"""Shapes of the orders API: what comes in (checked for types only) and what goes out.

Rules (who may order, what a line may be assigned to, who may ship or move) are the services'."""
from __future__ import annotations

from rest_framework import serializers

from accounts.validators import validate_day_in_range
from lib.api import BoundedListField

from orders.models import Order, OrderLine, OrderLineState
from orders.services import MAX_LINES_PER_ORDER

# --- out ------------------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    """An order line: its product, quantity, state, where it goes and its dates."""

    # Expects product, smart_account, virtual_account and held_in fetched with it (selectors.LINE_RELATED).

    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    state = serializers.ChoiceField(choices=OrderLineState.choices, read_only=True)
    smart_account = serializers.IntegerField(
        source="smart_account_id", read_only=True, allow_null=True,
        help_text="Where the line goes or went: a customer Smart Account or a holding account; empty while a "
                  "delegated line waits for the end customer's choice.",
    )
    smart_account_name = serializers.CharField(source="smart_account.name", read_only=True, allow_null=True, default=None)
    smart_account_kind = serializers.CharField(source="smart_account.kind", read_only=True, allow_null=True, default=None)
    virtual_account = serializers.IntegerField(
        source="virtual_account_id", read_only=True, allow_null=True,
        help_text="Empty until provisioned when none was chosen (the account's default is used then).",
    )
    virtual_account_name = serializers.CharField(source="virtual_account.name", read_only=True, allow_null=True,
                                                 default=None)
    held_in = serializers.IntegerField(
        source="held_in_id", read_only=True, allow_null=True,
        help_text="The holding account the line was parked in (kept after it moved on).",
    )
    delegated = serializers.BooleanField(read_only=True, help_text="The end-customer contact chooses the account.")

    class Meta:
        model = OrderLine
        fields = [
            "id", "number", "sku", "product_name", "quantity", "state", "smart_account", "smart_account_name",
            "smart_account_kind", "virtual_account", "virtual_account_name", "held_in", "delegated", "shipped_on",
            "starts_on", "ends_on", "provisioned_at",
        ]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    """An order with its lines."""

    # Expects partner, reseller, placed_by and the lines fetched with it (selectors.orders_visible_to).

    partner = serializers.IntegerField(source="partner_id", read_only=True, help_text="Id of the ordering partner.")
    partner_name = serializers.CharField(source="partner.name", read_only=True)
    reseller = serializers.IntegerField(
        source="reseller_id", read_only=True, allow_null=True,
        help_text="2-tier: id of the reseller a distributor ordered for.",
    )
    reseller_name = serializers.CharField(source="reseller.name", read_only=True, allow_null=True, default=None)
    placed_by = serializers.EmailField(source="placed_by.email", read_only=True, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=OrderLineState.choices, read_only=True,
        help_text="Derived from the lines: the least advanced line state (booked until every line shipped).",
    )
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id", "number", "partner", "partner_name", "reseller", "reseller_name", "placed_by",
            "end_customer_name", "end_customer_email", "placed_at", "status", "lines",
        ]
        read_only_fields = fields


class OrderEventSerializer(serializers.Serializer):
    """One entry of an order's history (an event about the order or one of its lines)."""

    action = serializers.CharField(help_text="e.g. `order.placed`, `order_line.shipped`, `order_line.provisioned`.")
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label", help_text='Email of who did it, or "system".')
    detail = serializers.JSONField()
    line = serializers.IntegerField(
        source="line_number", allow_null=True, default=None,
        help_text="The number of the line it is about; empty for the order as a whole.",
    )
    smart_account = serializers.IntegerField(
        source="smart_account_id", help_text="The account that logged it (a move is logged on both accounts).",
    )


class OrderDetailSerializer(OrderSerializer):
    """An order with its lines and its history. Expects `history` (events, each with `line_number`)
    set on the instance (selectors.order_history)."""

    events = OrderEventSerializer(source="history", many=True, read_only=True, help_text="Oldest first.")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "events"]
        read_only_fields = fields


class MovedLineSerializer(OrderLineSerializer):
    """A moved line, with the order it belongs to."""

    order = serializers.IntegerField(source="order_id", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta(OrderLineSerializer.Meta):
        fields = ["order", "order_number", *OrderLineSerializer.Meta.fields]
        read_only_fields = fields


class MovedLinesSerializer(serializers.Serializer):
    lines = MovedLineSerializer(many=True, read_only=True)


class DelegatedLineSerializer(serializers.ModelSerializer):
    """A line delegated to the caller, waiting for them to choose an account."""

    # Expects the order and product fetched with it (selectors.delegated_lines_for).

    order = serializers.IntegerField(source="order_id", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    partner_name = serializers.CharField(source="order.partner.name", read_only=True,
                                         help_text="The partner who ordered it.")
    sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    state = serializers.ChoiceField(choices=OrderLineState.choices, read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id", "order", "order_number", "partner_name", "number", "sku", "product_name", "quantity", "state",
            "shipped_on", "starts_on", "ends_on",
        ]
        read_only_fields = fields


# --- in -------------------------------------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(help_text="The product's SKU (case-insensitive).")
    quantity = serializers.IntegerField(help_text="At least 1.")
    smart_account = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="A customer Smart Account (active or new; no role needed: depositing gives and never takes) or a "
                  "holding account of your partner (a distributor: also of a linked reseller).",
    )
    virtual_account = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="A Virtual Account of that account (default: the account's default, DEFAULT). Alone, it names "
                  "its account too.",
    )
    delegate_to_end_customer = serializers.BooleanField(
        required=False, default=False,
        help_text="The end-customer contact chooses the account (they are emailed a link). A line that names no "
                  "account is delegated; one of an `sa_required` product must say so explicitly or name an account.",
    )


class OrderCreateSerializer(serializers.Serializer):
    end_customer_name = serializers.CharField(allow_blank=True, trim_whitespace=False)
    end_customer_email = serializers.CharField(allow_blank=True, help_text="The end-customer contact.")
    reseller = serializers.IntegerField(
        required=False, allow_null=True, help_text="Distributors: the linked reseller this order is for.",
    )
    lines = OrderLineInputSerializer(many=True, max_length=MAX_LINES_PER_ORDER)


class OrderShipSerializer(serializers.Serializer):
    lines = BoundedListField(
        child=serializers.IntegerField(), required=False, allow_empty=True, max_length=MAX_LINES_PER_ORDER,
        help_text="Ids of the lines to ship (all or none); default: every line not shipped yet.",
    )
    shipped_on = serializers.DateField(required=False, allow_null=True, validators=[validate_day_in_range],
                                       help_text="Default: today; never in the future.")


class OrderLineMoveSerializer(serializers.Serializer):
    lines = BoundedListField(child=serializers.IntegerField(), allow_empty=True, max_length=MAX_LINES_PER_ORDER,
                                  help_text="Ids of the order lines to move (all or none).")
    smart_account = serializers.IntegerField(help_text="An active customer Smart Account.")
    virtual_account = serializers.IntegerField(
        required=False, allow_null=True, help_text="One of its Virtual Accounts (default: its default, DEFAULT).",
    )
