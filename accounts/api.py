"""API views of the accounts app: the caller, users, partners and their members.

Each view finds what the caller may see, checks the body's shape, and calls one service."""
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api_common import IsStaff, IsStaffOrReadOnly, errors, validated_data

from . import services
from .models import Partner, PartnerMembership, User
from .serializers import (
    MeSerializer,
    PartnerCreateSerializer,
    PartnerMemberAddSerializer,
    PartnerMemberSerializer,
    PartnerSerializer,
    UserCreateSerializer,
    UserSerializer,
)


def partners_visible_to(user: User) -> QuerySet[Partner]:
    """Staff see every partner; a partner member sees their own partner."""
    qs = Partner.objects.all()
    if user.is_staff:
        return qs
    return qs.filter(memberships__user=user)


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer, **errors(401)}, summary="The caller: who they are and their partner")
    def get(self, request: Request) -> Response:
        user = User.objects.select_related("partner_membership__partner").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class UserCreateView(APIView):
    permission_classes = [IsAuthenticated, IsStaff]

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserSerializer, **errors(400, 401, 403)},
        summary="Register a user with a verified email (staff)",
    )
    def post(self, request: Request) -> Response:
        user = services.user_create(actor=request.user, **validated_data(UserCreateSerializer, request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class PartnerListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, IsStaffOrReadOnly]
    serializer_class = PartnerSerializer

    def get_queryset(self) -> QuerySet[Partner]:
        return partners_visible_to(self.request.user).prefetch_related("distributors", "linked_resellers")

    @extend_schema(
        responses={200: PartnerSerializer(many=True), **errors(401)},
        summary="Partners: all for staff, their own for partner users",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PartnerCreateSerializer, responses={201: PartnerSerializer, **errors(400, 401, 403)},
        summary="Create a partner; a reseller may name its distributor (staff)",
    )
    def post(self, request: Request) -> Response:
        partner = services.partner_create(actor=request.user, **validated_data(PartnerCreateSerializer, request))
        return Response(PartnerSerializer(self.get_queryset().get(pk=partner.pk)).data,
                        status=status.HTTP_201_CREATED)


class PartnerDetailView(generics.RetrieveAPIView):
    serializer_class = PartnerSerializer

    @extend_schema(responses={200: PartnerSerializer, **errors(401, 404)}, summary="One partner")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Partner]:
        return partners_visible_to(self.request.user).prefetch_related("distributors", "linked_resellers")


class PartnerMemberListView(generics.ListAPIView):
    """Members of one partner: seen by its members and staff; added by its admins and staff."""

    serializer_class = PartnerMemberSerializer

    def get_partner(self) -> Partner:
        return get_object_or_404(partners_visible_to(self.request.user), pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[PartnerMembership]:
        return PartnerMembership.objects.filter(partner=self.get_partner()).select_related("user")

    @extend_schema(responses={200: PartnerMemberSerializer(many=True), **errors(401, 404)}, summary="Members of a partner")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PartnerMemberAddSerializer, responses={201: PartnerMemberSerializer, **errors(400, 401, 403, 404)},
        summary="Add a registered user to a partner, or change their admin flag (partner admin, staff)",
    )
    def post(self, request: Request, pk: int) -> Response:
        partner = self.get_partner()
        membership = services.partner_member_add(
            partner=partner, actor=request.user, **validated_data(PartnerMemberAddSerializer, request)
        )
        return Response(PartnerMemberSerializer(membership).data, status=status.HTTP_201_CREATED)
