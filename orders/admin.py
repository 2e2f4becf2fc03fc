"""Staff back office for orders: look at orders and lines, and ship them (through the
services, as the API and the command do)."""
from django.contrib import admin
from django.db.models import Prefetch

from lib.admin import ReadOnlyAdmin, ReadOnlyTabularInline, run_service_action, titled

from .models import Order, OrderLine, OrderLineState

# What a line's columns need in one query: its order, product and where it goes.
LINE_RELATED = ("order", "product", "smart_account", "virtual_account__smart_account")


def line_assignment(line: OrderLine) -> str:
    """Where the line goes, in words: account / Virtual Account, or the delegation."""
    if line.smart_account_id is None:
        return "delegated to the end customer" if line.delegated else "—"
    where = str(line.smart_account)
    if line.virtual_account_id is not None:
        where += f" / {line.virtual_account.name}"
    return where + (" (chosen by the end customer)" if line.delegated else "")


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = ("number", "product", "quantity", "assignment", "state", "shipped_on", "starts_on", "ends_on")
    readonly_fields = fields

    @admin.display(description="assignment")
    def assignment(self, line: OrderLine) -> str:
        return line_assignment(line)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*LINE_RELATED)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "partner", "reseller", "end_customer_name", "end_customer_email", "placed_by",
                    "placed_at", "line_count", "status")
    list_filter = ("partner", "placed_at")
    list_select_related = ("partner", "reseller", "placed_by")
    search_fields = ("number", "end_customer_name", "end_customer_email", "partner__name")
    date_hierarchy = "placed_at"
    inlines = (OrderLineInline,)
    actions = ("ship_selected",)
    show_full_result_count = False

    def get_queryset(self, request):
        # `status` and the line count read the lines: one query for the whole page.
        lines = Prefetch("lines", queryset=OrderLine.objects.only("id", "order_id", "state"))
        return super().get_queryset(request).prefetch_related(lines)

    @admin.display(description="lines")
    def line_count(self, order: Order) -> int:
        return len(order.lines.all())

    @admin.display(description="status")
    def status(self, order: Order) -> str:
        return OrderLineState(order.status).label

    @admin.action(description="Ship all unshipped lines")
    def ship_selected(self, request, queryset):
        from orders import services

        run_service_action(
            self, request, queryset, lambda order: services.order_ship(order=order, actor=request.user), "shipped"
        )


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "product", "quantity", "assignment", "state", "shipped_on", "starts_on", "ends_on")
    list_filter = (
        "state",
        ("product__family", titled("product family")),
        ("product__license_kind", titled("license kind")),
        ("smart_account__kind", titled("account kind")),
        "delegated",
        "shipped_on",
    )
    list_select_related = LINE_RELATED
    search_fields = ("order__number", "product__sku", "smart_account__name", "smart_account__domain")
    date_hierarchy = "shipped_on"
    actions = ("ship_selected",)
    show_full_result_count = False

    @admin.display(description="assignment")
    def assignment(self, line: OrderLine) -> str:
        return line_assignment(line)

    @admin.action(description="Ship selected lines")
    def ship_selected(self, request, queryset):
        from orders import services

        run_service_action(
            self, request, queryset, lambda line: services.order_line_ship(line=line, actor=request.user), "shipped"
        )
