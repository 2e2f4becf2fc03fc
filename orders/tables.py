"""The list tables of the orders pages (django-tables2, on lib.tables.PortalTable): the order
list, the lines waiting in a partner's holding accounts, and the delegated lines waiting for
their end customer's choice."""
from __future__ import annotations

from django.utils import timezone

from lib.tables import CellColumn, PortalTable, TruncatedColumn, clip, hidden_header, order_nulls

from .models import Order, OrderLine
from .selectors import held_line_age


def _line_text(line: OrderLine) -> str:
    where = line.smart_account.name if line.smart_account_id else ("end customer chooses" if line.delegated else "—")
    return f"{line.quantity} × {line.product.sku} → {where}"


class OrderTable(PortalTable):
    """/orders/: sortable by number, day placed, end customer and partner; the lines and the
    status come from the prefetched lines (no query per row)."""

    number = CellColumn(
        '<a class="fw-semibold" href="{% url \'orders:order_detail\' record.pk %}">{{ record.number }}</a>',
        verbose_name="Order", order_by=("number",),
    )
    placed_at = CellColumn('{{ record.placed_at|date:"Y-m-d" }}', verbose_name="Placed", order_by=("placed_at", "id"),
                           attrs={"td": {"class": "small text-nowrap"}})
    end_customer = CellColumn(
        clip("record.end_customer_name")
        + '<div class="small text-body-secondary">' + clip("record.end_customer_email") + "</div>",
        verbose_name="End customer", order_by=("end_customer_name", "id"),
    )
    partner = CellColumn(
        clip("record.partner.name")
        + '{% if record.reseller %}<div class="text-body-secondary">for ' + clip("record.reseller.name") + "</div>{% endif %}",
        verbose_name="Partner", order_by=("partner__name", "id"), attrs={"td": {"class": "small"}},
    )
    lines = CellColumn(
        '{% with lines=record.lines.all %}{% for line in lines|slice:":3" %}'
        '<div>{{ line.quantity }} × {{ line.product.sku }} <span class="text-body-secondary">→ {% if line.smart_account %}'
        + clip("line.smart_account.name") + '{% elif line.delegated %}end customer chooses{% else %}—{% endif %}</span></div>'
        '{% endfor %}{% if lines|length > 3 %}<div class="text-body-secondary">and {{ lines|length|add:"-3" }} more</div>'
        '{% endif %}{% endwith %}',
        verbose_name="Lines", orderable=False, attrs={"td": {"class": "small"}},
    )
    status = CellColumn('{% include "orders/_state_badge.html" with state=record.status %}',
                        verbose_name="Status", orderable=False)

    caption = "Orders"
    pagination_label = "Order pages"
    export_csv = True

    class Meta(PortalTable.Meta):
        model = Order
        fields = ()

    def value_end_customer(self, record: Order) -> str:
        return f"{record.end_customer_name} <{record.end_customer_email}>"

    def value_partner(self, record: Order) -> str:
        return record.partner.name + (f" for {record.reseller.name}" if record.reseller_id else "")

    def value_lines(self, record: Order) -> str:
        return "; ".join(_line_text(line) for line in record.lines.all())

    def value_status(self, record: Order) -> str:
        return record.status


class HeldLineTable(PortalTable):
    """The holding-account inbox: held lines (`selectors.held_lines_for`), one table per holding
    account on the page, sorted as a whole. Rows carry `age` (`selectors.held_line_age`), set by
    the view for the page; the CSV works it out per line (no query)."""

    select = CellColumn(
        '<input class="form-check-input" type="checkbox" name="move-lines" value="{{ record.pk }}" id="line-{{ record.pk }}" '
        'data-group="{{ record.smart_account_id }}" aria-label="Select {{ record.order.number }} line {{ record.number }} '
        '({{ record.quantity }} × {{ record.product.sku }})">',
        verbose_name=hidden_header("Select"), orderable=False, exclude_from_export=True,
    )
    order = CellColumn(
        '<a href="{% url \'orders:order_detail\' record.order_id %}">{{ record.order.number }}</a> '
        '<span class="text-body-secondary small">line {{ record.number }}</span>',
        verbose_name="Order", order_by=("order__number", "number"),
    )
    holding_account = TruncatedColumn("record.smart_account.name", verbose_name="Holding account", visible=False)
    end_customer = CellColumn(
        clip("record.order.end_customer_name")
        + '<div class="text-body-secondary">' + clip("record.order.end_customer_email") + "</div>",
        verbose_name="End customer", order_by=("order__end_customer_name", "order_id", "number"), attrs={"td": {"class": "small"}},
    )
    product = CellColumn(
        '<span class="fw-semibold">{{ record.product.sku }}</span><div class="small text-body-secondary">{{ record.product.name }}</div>',
        verbose_name="Product", order_by=("product__sku", "order_id", "number"),
    )
    quantity = CellColumn("{{ record.quantity }}", verbose_name="Qty", order_by=("quantity", "order_id", "number"),
                          attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    shipped = CellColumn('{{ record.shipped_on|date:"Y-m-d" }}', verbose_name="Shipped", order_by=("shipped_on", "order_id", "number"),
                         attrs={"td": {"class": "small text-nowrap"}})
    age = CellColumn(
        '{{ record.age.age_days }} day{{ record.age.age_days|pluralize }}'
        '{% if record.age.stale %} <span class="badge text-bg-warning">Stale</span>{% endif %}',
        verbose_name="Age", order_by=("-shipped_on", "order_id", "number"), attrs={"td": {"class": "text-nowrap"}},
    )
    subscription = CellColumn('{% include "orders/_subscription_used.html" with row=record.age %}', verbose_name="Subscription",
                              order_by=("ends_on", "order_id", "number"), attrs={"th": {"class": "col-subscription"}})

    pagination_label = "Held line pages"
    wrapper_class = "table-responsive"

    class Meta(PortalTable.Meta):
        model = OrderLine
        fields = ()

    def order_subscription(self, queryset, is_descending: bool):
        # Perpetual lines (no end) after every subscription, whatever the database.
        return order_nulls(queryset, "ends_on", is_descending, "order_id", "number", nulls_first=False)

    def _age(self, record: OrderLine):
        if getattr(record, "age", None) is None:
            record.age = held_line_age(record, timezone.localdate())
        return record.age

    def value_order(self, record: OrderLine) -> str:
        return f"{record.order.number} line {record.number}"

    def value_end_customer(self, record: OrderLine) -> str:
        return f"{record.order.end_customer_name} <{record.order.end_customer_email}>"

    def value_product(self, record: OrderLine) -> str:
        return record.product.sku

    def value_age(self, record: OrderLine) -> str:
        age = self._age(record)
        return f"{age.age_days} days" + (" (stale)" if age.stale else "")

    def value_subscription(self, record: OrderLine) -> str:
        age = self._age(record)
        if not age.term_months:
            return "perpetual"
        if age.ended:
            return f"ended {record.ends_on.isoformat()}"
        return f"{age.months_used} of {age.term_months} months used"


class DelegatedLineTable(PortalTable):
    """/orders/delegated/: the lines waiting for the signed-in end-customer contact to choose
    their account (`selectors.delegated_lines_for`, newest order first unless sorted)."""

    order = CellColumn(
        '{{ record.order.number }} <span class="small text-body-secondary">line {{ record.number }}</span>'
        '<div class="small text-body-secondary">{{ record.order.placed_at|date:"Y-m-d" }}</div>',
        verbose_name="Order", order_by=("order__number", "number"),
    )
    placed = CellColumn('{{ record.order.placed_at|date:"Y-m-d" }}', verbose_name="Placed", visible=False, orderable=False)
    partner = TruncatedColumn("record.order.partner.name", verbose_name="From",
                         order_by=("order__partner__name", "order__number", "number"))
    product = CellColumn(
        '<span class="fw-semibold">{{ record.product.sku }}</span><div class="small text-body-secondary">{{ record.product.name }}</div>',
        verbose_name="Product", order_by=("product__sku", "order__number", "number"),
    )
    quantity = CellColumn("{{ record.quantity }}", verbose_name="Qty", order_by=("quantity", "order__number", "number"),
                          attrs={"th": {"class": "text-end"}, "td": {"class": "text-end"}})
    shipped = CellColumn(
        '{% if record.shipped_on %}{{ record.shipped_on|date:"Y-m-d" }}'
        '{% else %}<span class="text-body-secondary">Not yet</span>{% endif %}',
        verbose_name="Shipped", order_by=("shipped_on", "order__number", "number"), attrs={"td": {"class": "small"}},
    )
    actions = CellColumn(
        '<a class="btn btn-sm btn-primary" href="{% url \'orders:delegated_line_choose\' record.pk %}">Choose the account'
        '<span class="visually-hidden"> for {{ record.order.number }} line {{ record.number }}</span></a>',
        verbose_name=hidden_header("Action"), orderable=False, exclude_from_export=True, attrs={"td": {"class": "text-end"}},
    )

    caption = "Lines waiting for your choice"
    export_csv = True

    class Meta(PortalTable.Meta):
        model = OrderLine
        fields = ()
        attrs = {**PortalTable.Meta.attrs, "id": "delegated-line-table"}

    def order_shipped(self, queryset, is_descending: bool):
        # Lines not shipped yet come first, whatever the database.
        return order_nulls(queryset, "shipped_on", is_descending, "order__number", "number")

    def value_order(self, record: OrderLine) -> str:
        return f"{record.order.number} line {record.number}"

    def value_product(self, record: OrderLine) -> str:
        return f"{record.product.sku} {record.product.name}"

    def value_shipped(self, record: OrderLine) -> str:
        return record.shipped_on.isoformat() if record.shipped_on else "not yet"
