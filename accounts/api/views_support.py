"""API views of support cases (flow 12): open one, read its thread, reply, mark it resolved;
staff answer every user's cases.

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, selectors, services
from accounts.models import SmartAccount, SupportCase, SupportCaseStatus, SupportMessage, User
from lib.api import errors, validated_data

from .serializers_users import (
    SupportCaseCreateSerializer,
    SupportCaseDetailSerializer,
    SupportCaseSerializer,
    SupportMessageSerializer,
    SupportReplySerializer,
)


def support_cases_for(user: User) -> QuerySet[SupportCase]:
    """The cases a caller finds: their own (the support pages' selector); support staff, who
    answer cases (in the admin or here), every case. Anyone else's case is 404."""
    if not permissions.can_answer_support(user):
        return selectors.support_cases_of(user=user)
    return (
        SupportCase.objects.select_related("smart_account")
        .annotate(message_count=Count("messages"))
        .order_by("-updated_at", "-pk")
    )


def support_case_detail(request: Request, pk: int) -> dict:
    thread = Prefetch("messages", queryset=SupportMessage.objects.order_by("created_at", "pk"), to_attr="thread")
    case = get_object_or_404(support_cases_for(request.user).select_related("user").prefetch_related(thread), pk=pk)
    return SupportCaseDetailSerializer(case, context={"case": case, "viewer": request.user}).data


def support_case_for_caller(request: Request, pk: int) -> SupportCase:
    return get_object_or_404(support_cases_for(request.user).select_related("user"), pk=pk)


@extend_schema_view(get=extend_schema(
    parameters=[OpenApiParameter("all", bool, description="Staff: every user's cases, not only your own.")],
    responses={200: SupportCaseSerializer(many=True), **errors(400, 401, 403)},
    summary="Your support cases, most recently active first",
))
class SupportCaseListView(generics.ListAPIView):
    """Open a case about an account or an order; list one's own cases (staff: `?all=true` for every case)."""

    serializer_class = SupportCaseSerializer

    def get_queryset(self) -> QuerySet[SupportCase]:
        user = self.request.user
        wanted = self.request.query_params.get("all", "")
        if wanted not in ("", "true", "false", "1", "0"):
            raise ValidationError({"all": ["Use true or false."]})
        if wanted in ("true", "1"):
            if not permissions.can_answer_support(user):
                raise PermissionDenied("Only vendor support staff see every case.")
            return support_cases_for(user)
        return selectors.support_cases_of(user=user)

    @extend_schema(
        request=SupportCaseCreateSerializer, responses={201: SupportCaseDetailSerializer, **errors(400, 401)},
        summary="Open a support case, optionally about an account you can see or an order",
        description="You are emailed when the support team replies.",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(SupportCaseCreateSerializer, request,
                              smart_accounts=permissions.visible(request.user, SmartAccount))
        case = services.support_case_open(actor=request.user, **data)
        return Response(support_case_detail(request, case.pk), status=status.HTTP_201_CREATED)


class SupportCaseDetailView(APIView):
    @extend_schema(
        responses={200: SupportCaseDetailSerializer, **errors(401, 404)},
        summary="One of your support cases, with its messages (oldest first)",
        description="Replies of staff come from “Support team”, never from a named person.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(support_case_detail(request, pk))


class SupportCaseMessageListView(APIView):
    @extend_schema(
        request=SupportReplySerializer, responses={201: SupportMessageSerializer, **errors(400, 401, 404)},
        summary="Reply on a case",
        description="Your reply opens the case again (also a resolved one). A reply of staff on another user's "
                    "case is a support-team answer: the case waits on the customer, who is emailed.",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        case = support_case_for_caller(request, pk)
        data = validated_data(SupportReplySerializer, request)
        message = services.support_case_reply(case=case, author=user, body=data["body"],
                                              from_staff=permissions.can_answer_support(user) and user.pk != case.user_id)
        return Response(SupportMessageSerializer(message, context={"case": case, "viewer": user}).data,
                        status=status.HTTP_201_CREATED)


class SupportCaseResolveView(APIView):
    @extend_schema(
        request=None, responses={200: SupportCaseDetailSerializer, **errors(401, 404)},
        summary="Mark a case resolved; a reply opens it again",
    )
    def post(self, request: Request, pk: int) -> Response:
        case = support_case_for_caller(request, pk)
        services.support_case_set_status(case=case, status=SupportCaseStatus.RESOLVED, actor=request.user)
        return Response(support_case_detail(request, pk))
