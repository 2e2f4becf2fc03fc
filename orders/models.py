"""How licenses arrive: partners' orders and their lines, shipped by staff."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Partner, SmartAccount, VirtualAccount
from licensing.models import ClassicLicense, Entitlement, Product


class OrderLineState(models.TextChoices):
    BOOKED = "booked", "Booked"
    HELD = "held", "Held in holding account"
    AWAITING_ACCOUNT = "awaiting_account", "Awaiting account"
    PROVISIONED = "provisioned", "Provisioned"


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="orders")
    reseller = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="resold_orders",
        help_text="2-tier: the reseller a distributor orders for.",
    )
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    end_customer_name = models.CharField(max_length=200)
    end_customer_email = models.EmailField()
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} for {self.end_customer_name}"

    @property
    def status(self) -> str:
        """Derived from the lines: the least advanced state wins, e.g. 'booked' until all shipped."""
        states = {line.state for line in self.lines.all()}
        for state in (OrderLineState.BOOKED, OrderLineState.AWAITING_ACCOUNT, OrderLineState.HELD):
            if state in states:
                return state
        return OrderLineState.PROVISIONED if states else OrderLineState.BOOKED


class OrderLine(models.Model):
    """One product on an order, with where it goes: a customer account, a holding account, or
    delegated to the end-customer contact."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveIntegerField(help_text="1, 2, … within the order.")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.PositiveIntegerField()
    smart_account = models.ForeignKey(SmartAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    virtual_account = models.ForeignKey(VirtualAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines")
    delegated = models.BooleanField(default=False, help_text="The end-customer contact chooses the account.")
    state = models.CharField(max_length=20, choices=OrderLineState.choices, default=OrderLineState.BOOKED, db_index=True)
    shipped_on = models.DateField(null=True, blank=True)
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    held_in = models.ForeignKey(
        SmartAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The holding account the line was parked in, kept after it moves on.",
    )
    provisioned_at = models.DateTimeField(null=True, blank=True)
    entitlements = models.ManyToManyField(Entitlement, blank=True, related_name="order_lines")
    classic_licenses = models.ManyToManyField(ClassicLicense, blank=True, related_name="order_lines")

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="unique_line_number_per_order"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            # Held and provisioned lines are somewhere. (A delegated line gets its account when the
            # end customer chooses one, which may happen before or after it ships.)
            models.CheckConstraint(
                condition=Q(smart_account__isnull=False) | Q(state__in=["booked", "awaiting_account"]),
                name="held_or_provisioned_line_has_account",
            ),
            models.CheckConstraint(
                condition=~Q(state="held") | Q(held_in__isnull=False), name="held_line_names_its_holding_account"
            ),
        ]
        indexes = [models.Index(fields=["smart_account", "state"])]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.number}: {self.quantity} × {self.product.sku}"

    @property
    def reference(self) -> str:
        return f"{self.order.number} line {self.number}"
