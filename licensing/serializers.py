"""Shapes of the licensing API: what comes in (checked for types only) and what goes out."""
from rest_framework import serializers

from .models import LicenseKind, Product


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "sku", "name", "family", "license_kind", "term_months", "sa_required", "is_active"]


class ProductCreateSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=60)
    name = serializers.CharField(max_length=200)
    family = serializers.CharField(max_length=100)
    license_kind = serializers.ChoiceField(choices=LicenseKind.choices, default=LicenseKind.SMART)
    term_months = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Subscription length; empty for a perpetual license."
    )
    sa_required = serializers.BooleanField(required=False, default=False)
