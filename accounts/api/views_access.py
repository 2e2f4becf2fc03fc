"""API views of access to a Smart Account: access requests (ask, list, approve, deny) and the
roles its admins grant and revoke.

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, selectors, services
from accounts.models import (
    AccessRequest,
    AccessRequestStatus,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    VirtualAccount,
    VirtualAccountRole,
)
from accounts.permissions import ADMINISTER
from lib.api import errors, validated_data

from .permissions import get_visible_or_404
from .serializers_smart_accounts import (
    AccessRequestApproveSerializer,
    AccessRequestCreateSerializer,
    AccessRequestDenySerializer,
    AccessRequestSerializer,
    OwnAccessRequestSerializer,
    RoleGrantSerializer,
    RoleSerializer,
)


def access_requests_with_scope() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related("requester", "decided_by").prefetch_related(
        "requested_virtual_accounts"
    )


@extend_schema_view(get=extend_schema(
    responses={200: OwnAccessRequestSerializer(many=True), **errors(401)},
    summary="Your own access requests (any status), newest first",
))
class MyAccessRequestListView(generics.ListAPIView):
    """The caller's own access requests, whatever their status."""

    serializer_class = OwnAccessRequestSerializer

    def get_queryset(self) -> QuerySet[AccessRequest]:
        return (AccessRequest.objects.select_related("requester", "decided_by").filter(requester=self.request.user)
                .order_by("-created_at", "-pk"))


@extend_schema_view(get=extend_schema(
    parameters=[OpenApiParameter("status", str, enum=AccessRequestStatus.values, description="Only these.")],
    responses={200: AccessRequestSerializer(many=True), **errors(400, 401, 403, 404)},
    summary="Access requests for an account, newest first (its SA admins)",
))
class AccessRequestListView(generics.ListAPIView):
    """Ask for access to an account found by domain (any verified user); its SA admins list the requests."""

    serializer_class = AccessRequestSerializer

    def get_queryset(self) -> QuerySet[AccessRequest]:
        sa = get_visible_or_404(self.request, SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER), ADMINISTER,
                                pk=self.kwargs["pk"])
        qs = access_requests_with_scope().filter(smart_account=sa).order_by("-created_at", "-pk")
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in AccessRequestStatus.values:
                raise ValidationError({"status": [f"Choose one of {', '.join(AccessRequestStatus.values)}."]})
            qs = qs.filter(status=wanted)
        return qs

    @extend_schema(
        request=AccessRequestCreateSerializer, responses={201: OwnAccessRequestSerializer, **errors(400, 401, 403, 404)},
        summary="Ask an account's admins for access (any verified user)",
        description="The account is one found by domain search: no role is needed to ask. The scope wanted is "
                    "named in words (`scope_wanted`), never by Virtual Account ids: the admins choose the real scope "
                    "when they approve. An account still `new` (not activated) takes no requests (400). "
                    "Its SA admins are emailed.",
    )
    def post(self, request: Request, pk: int) -> Response:
        sa = get_object_or_404(SmartAccount, pk=pk, kind=SmartAccountKind.CUSTOMER)
        data = validated_data(AccessRequestCreateSerializer, request)
        access_request = services.access_request_create(smart_account=sa, actor=request.user, **data)
        # What the requester sent back, and nothing of the account beyond its id.
        return Response(OwnAccessRequestSerializer(access_request).data, status=status.HTTP_201_CREATED)


def access_request_for_admin(request: Request, pk: int) -> AccessRequest:
    """404 unless the caller sees its account; 403 unless they administer it."""
    return get_visible_or_404(request, AccessRequest.objects.select_related("smart_account"), ADMINISTER, pk=pk)


class AccessRequestApproveView(APIView):
    @extend_schema(
        request=AccessRequestApproveSerializer, responses={200: AccessRequestSerializer, **errors(400, 401, 403, 404)},
        summary="Approve an access request with a role and scope (SA admin)",
        description="An SA role covers the whole account; a VA role needs `virtual_accounts` and applies to each "
                    "one's subtree. The requester is emailed.",
    )
    def post(self, request: Request, pk: int) -> Response:
        access_request = access_request_for_admin(request, pk)
        in_account = VirtualAccount.objects.filter(smart_account=access_request.smart_account)
        data = validated_data(AccessRequestApproveSerializer, request, virtual_accounts=in_account)
        services.access_request_approve(access_request=access_request, actor=request.user, **data)
        return Response(AccessRequestSerializer(access_requests_with_scope().get(pk=pk)).data)


class AccessRequestDenyView(APIView):
    @extend_schema(
        request=AccessRequestDenySerializer, responses={200: AccessRequestSerializer, **errors(400, 401, 403, 404)},
        summary="Decline an access request, optionally saying why (SA admin)",
    )
    def post(self, request: Request, pk: int) -> Response:
        access_request = access_request_for_admin(request, pk)
        data = validated_data(AccessRequestDenySerializer, request)
        services.access_request_deny(access_request=access_request, actor=request.user, **data)
        return Response(AccessRequestSerializer(access_requests_with_scope().get(pk=pk)).data)


# --- roles ------------------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    responses={200: RoleSerializer(many=True), **errors(401, 403, 404)},
    summary="Roles in an account: SA roles, then VA roles in tree order",
))
class RoleListView(generics.ListAPIView):
    """Who holds which role: SA admins see and grant every role; a VA admin the VA roles of its subtree."""

    serializer_class = RoleSerializer

    def get_smart_account(self) -> tuple[SmartAccount, bool, QuerySet[VirtualAccount]]:
        """The account (404 unless visible), whether the caller administers all of it, and the
        Virtual Accounts they administer; 403 for role holders who administer nothing in it."""
        user = self.request.user
        sa = get_visible_or_404(self.request, SmartAccount.objects.all(), pk=self.kwargs["pk"])
        if permissions.can(user, ADMINISTER, sa):
            return sa, True, VirtualAccount.objects.filter(smart_account=sa)
        managed = permissions.visible_virtual_accounts(user, ADMINISTER).filter(smart_account=sa)
        if not managed.exists():
            raise permissions.refusal(user, "Only the account's admins manage its roles.")
        return sa, False, managed

    def get_queryset(self) -> list:
        sa, whole_account, managed = self.get_smart_account()
        sa_roles = (
            SmartAccountRole.objects.filter(content_object=sa).select_related("user", "permission", "granted_by")
            .order_by("user__email", "permission__codename")
            if whole_account else SmartAccountRole.objects.none()
        )
        va_roles = (
            VirtualAccountRole.objects.filter(content_object__in=managed)
            .select_related("user", "permission", "granted_by", "content_object")
            .order_by("content_object__tree_id", "content_object__lft", "user__email", "permission__codename")
        )
        # Two tables, one list: an account's roles are few enough to page in memory (two queries).
        return [*sa_roles, *va_roles]

    @extend_schema(
        request=RoleGrantSerializer, responses={201: RoleSerializer, **errors(400, 401, 403, 404)},
        summary="Grant a role (SA admin; a VA admin grants VA roles in its subtree)",
        description="Replaces any other role the user held on the same account or Virtual Account.",
    )
    def post(self, request: Request, pk: int) -> Response:
        sa, _, _ = self.get_smart_account()
        data = validated_data(RoleGrantSerializer, request,
                              virtual_accounts=permissions.navigation_virtual_accounts(request.user, sa))
        row = services.role_grant(smart_account=sa, email=data["user_email"], role=data["role"],
                                  virtual_account=data["virtual_account"], actor=request.user)
        return Response(RoleSerializer(selectors.role_get(row.pk)).data, status=status.HTTP_201_CREATED)


class RoleDetailView(APIView):
    @extend_schema(responses={204: None, **errors(400, 401, 403, 404)},
                   summary="Revoke a role; access ends at once (SA admin; VA admin for VA roles in its subtree)")
    def delete(self, request: Request, pk) -> Response:
        row = selectors.role_get(pk)
        if row is None:
            raise Http404("No such role.")
        # 404 unless the caller sees where the role applies: its account, or (VA roles) its
        # Virtual Account; a sibling subtree's roles do not exist for them (DESIGN.md §3).
        if isinstance(row, SmartAccountRole):
            get_visible_or_404(request, SmartAccount.objects.all(), pk=row.content_object_id)
        else:
            get_visible_or_404(request, VirtualAccount.objects.all(), pk=row.content_object_id)
        services.role_revoke(role=row, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
