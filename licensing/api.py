"""API views of the licensing app: the product catalogue.

Each view finds what the caller may see, checks the body's shape, and calls one service."""
import django_filters
from django.db.models import Q, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api_common import IsStaffOrReadOnly, errors, validated_data

from . import services
from .models import LicenseKind, Product
from .serializers import ProductCreateSerializer, ProductSerializer


class ProductFilterSet(django_filters.FilterSet):
    family = django_filters.CharFilter(lookup_expr="iexact")
    license_kind = django_filters.ChoiceFilter(choices=LicenseKind.choices)
    sa_required = django_filters.BooleanFilter()
    is_active = django_filters.BooleanFilter()
    search = django_filters.CharFilter(method="filter_search", label="SKU, name or family contains")

    class Meta:
        model = Product
        fields = ["family", "license_kind", "sa_required", "is_active"]

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value) | Q(family__icontains=value))


class ProductListView(generics.ListAPIView):
    """The catalogue: read by every signed-in user, extended by staff."""

    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    serializer_class = ProductSerializer
    queryset = Product.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductFilterSet

    @extend_schema(responses={200: ProductSerializer(many=True), **errors(400, 401)}, summary="The product catalogue")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProductCreateSerializer, responses={201: ProductSerializer, **errors(400, 401, 403)},
        summary="Add a product (staff)",
    )
    def post(self, request: Request) -> Response:
        product = services.product_create(actor=request.user, **validated_data(ProductCreateSerializer, request))
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(generics.RetrieveAPIView):
    serializer_class = ProductSerializer
    queryset = Product.objects.all()

    @extend_schema(responses={200: ProductSerializer, **errors(401, 404)}, summary="One product")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
