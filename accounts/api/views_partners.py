"""API views of partners: the partners, their members and invitations to join (flow 12, the
partner pages), and the customers a partner manages.

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, selectors, services
from accounts.models import Invitation, Partner, PartnerMembership, SmartAccount
from lib.api import errors, validated_data

from .permissions import power_required
from .serializers_partners import (
    PartnerCreateSerializer,
    PartnerCustomerRoleSerializer,
    PartnerInvitationSerializer,
    PartnerInvitationTokenSerializer,
    PartnerMemberAddSerializer,
    PartnerMemberSerializer,
    PartnerMemberUpdateSerializer,
    PartnerSerializer,
)


@extend_schema_view(get=extend_schema(
    responses={200: PartnerSerializer(many=True), **errors(401)},
    summary="Partners: all for staff, their own for partner users",
))
class PartnerListView(generics.ListAPIView):
    permission_classes = [IsAuthenticated, power_required(permissions.Power.PARTNERS, reads_open=True)]
    serializer_class = PartnerSerializer

    def get_queryset(self) -> QuerySet[Partner]:
        return permissions.visible_partners(self.request.user).prefetch_related("distributors", "linked_resellers")

    @extend_schema(
        request=PartnerCreateSerializer, responses={201: PartnerSerializer, **errors(400, 401, 403)},
        summary="Create a partner; a reseller may name its distributor (staff)",
    )
    def post(self, request: Request) -> Response:
        partner = services.partner_create(actor=request.user, **validated_data(PartnerCreateSerializer, request))
        return Response(PartnerSerializer(self.get_queryset().get(pk=partner.pk)).data,
                        status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(responses={200: PartnerSerializer, **errors(401, 404)}, summary="One partner"))
class PartnerDetailView(generics.RetrieveAPIView):
    serializer_class = PartnerSerializer

    def get_queryset(self) -> QuerySet[Partner]:
        return permissions.visible_partners(self.request.user).prefetch_related("distributors", "linked_resellers")


# --- members and invitations ----------------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    responses={200: PartnerMemberSerializer(many=True), **errors(401, 404)}, summary="Members of a partner"
))
class PartnerMemberListView(generics.ListAPIView):
    """Members of one partner: seen by its members and staff; added by its admins and staff."""

    serializer_class = PartnerMemberSerializer

    def get_partner(self) -> Partner:
        return get_object_or_404(permissions.visible_partners(self.request.user), pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[PartnerMembership]:
        return PartnerMembership.objects.filter(partner=self.get_partner()).select_related("user")

    @extend_schema(
        request=PartnerMemberAddSerializer, responses={202: PartnerInvitationSerializer, **errors(400, 401, 403, 404)},
        summary="Invite an email address to join a partner (partner admin, staff)",
        description="Nobody joins without consent: the address is emailed a signed, single-use link that expires, "
                    "and its owner joins by accepting it (`POST /api/v1/partner-invitations/accept/`). The answer "
                    "is the same whoever the address belongs to. Inviting an address again replaces its pending "
                    "invitation and sends a new link. A member of this partner already is a 400.",
    )
    def post(self, request: Request, pk: int) -> Response:
        partner = self.get_partner()
        invitation = services.partner_member_invite(
            partner=partner, actor=request.user, **validated_data(PartnerMemberAddSerializer, request)
        )
        return Response(PartnerInvitationSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class PartnerMemberDetailView(APIView):
    """One member of a partner: its admins (and staff) make them admin or not, or remove them."""

    def get_membership(self, request: Request, pk: int, member_id: int) -> PartnerMembership:
        partner = get_object_or_404(permissions.visible_partners(request.user), pk=pk)
        return get_object_or_404(PartnerMembership.objects.select_related("user", "partner"), pk=member_id,
                                 partner=partner)

    @extend_schema(
        request=PartnerMemberUpdateSerializer, responses={200: PartnerMemberSerializer, **errors(400, 401, 403, 404)},
        summary="Make a member a partner admin, or an ordinary member again (partner admin, staff)",
        description="A partner keeps at least one admin (400).",
    )
    def patch(self, request: Request, pk: int, member_id: int) -> Response:
        membership = self.get_membership(request, pk, member_id)
        data = validated_data(PartnerMemberUpdateSerializer, request)
        membership = services.partner_member_set_admin(membership=membership, is_admin=data["is_admin"],
                                                       actor=request.user)
        return Response(PartnerMemberSerializer(membership).data)

    @extend_schema(
        responses={204: None, **errors(400, 401, 403, 404)},
        summary="Remove a member from a partner (partner admin, staff)",
        description="Their holding-account memberships of the partner end with it. A partner keeps at least one "
                    "admin (400).",
    )
    def delete(self, request: Request, pk: int, member_id: int) -> Response:
        membership = self.get_membership(request, pk, member_id)
        services.partner_member_remove(membership=membership, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(get=extend_schema(
    responses={200: PartnerInvitationSerializer(many=True), **errors(401, 403, 404)},
    summary="Pending invitations to join a partner (partner admin, staff)",
))
class PartnerInvitationListView(generics.ListAPIView):
    """A partner's pending invitations: its admins and staff (its other members: 403)."""

    serializer_class = PartnerInvitationSerializer

    def get_queryset(self) -> QuerySet[Invitation]:
        partner = get_object_or_404(permissions.visible_partners(self.request.user), pk=self.kwargs["pk"])
        if not permissions.can_manage_partner(self.request.user, partner):
            raise permissions.refusal(self.request.user, "Only a partner admin may see its invitations.")
        return services.partner_invitations_pending(partner=partner)


class PartnerInvitationDetailView(APIView):
    """One pending invitation: its partner's admins (and staff) withdraw it; its other members get 403."""

    @extend_schema(
        responses={204: None, **errors(401, 403, 404)},
        summary="Withdraw a pending invitation to join a partner (partner admin, staff)",
        description="Its link stops working. Invitations already used or expired, or of another partner, are 404.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        pending = services.partner_invitations_pending().filter(partner__in=permissions.visible_partners(request.user))
        invitation = get_object_or_404(pending.select_related("partner"), pk=pk)
        services.partner_invitation_revoke(invitation=invitation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PartnerInvitationAcceptView(APIView):
    @extend_schema(
        request=PartnerInvitationTokenSerializer, responses={201: PartnerMemberSerializer, **errors(400, 401, 403)},
        summary="Accept an invitation to join a partner (the invited user)",
        description="Only the user whose verified email address was invited (else 403), once, before it expires "
                    "(else 400 keyed `token`, as is the link of any other invitation). A user who belongs to a "
                    "partner already leaves it first (400).",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(PartnerInvitationTokenSerializer, request)
        token = data["token"]
        membership = services.partner_invitation_accept(token=token, actor=request.user)
        return Response(PartnerMemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class PartnerInvitationDeclineView(APIView):
    @extend_schema(
        request=PartnerInvitationTokenSerializer, responses={204: None, **errors(400, 401, 403)},
        summary="Decline an invitation to join a partner (the invited user)",
        description="The link is used up; nothing else changes. The link of any other invitation is a 400 keyed "
                    "`token`, as an invalid one is.",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(PartnerInvitationTokenSerializer, request)
        token = data["token"]
        services.partner_invitation_decline(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- customers managed ----------------------------------------------------------------------------


class PartnerCustomerListView(generics.ListAPIView):
    """Customers a partner manages: the roles its users hold in customer Smart Accounts."""

    serializer_class = PartnerCustomerRoleSerializer

    def get_queryset(self) -> list:
        partner = get_object_or_404(permissions.visible_partners(self.request.user), pk=self.kwargs["pk"])
        return selectors.partner_customer_roles(partner=partner)

    @extend_schema(
        responses={200: PartnerCustomerRoleSerializer(many=True), **errors(401, 404)},
        summary="Customer accounts where the partner's users hold roles (its members, staff)",
        description="By account, then scope (whole account, then Virtual Accounts in tree order), then user. "
                    "`can_open`: whether you yourself hold a role there.",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        account_ids = {row.smart_account.pk for row in page}
        openable = set(
            permissions.visible(request.user, SmartAccount).filter(pk__in=account_ids).values_list("pk", flat=True)
        )
        context = {**self.get_serializer_context(), "openable_ids": openable}
        return self.get_paginated_response(PartnerCustomerRoleSerializer(page, many=True, context=context).data)
