"""API views of the caller (who they are, their data, closing their account, their API keys)
and of registering users (staff).

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.contrib.auth import logout
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import ApiKey, User
from accounts.permissions import Power
from lib.api import errors, validated_data

from .auth import require_recent_authentication
from .permissions import power_required
from .serializers_users import (
    AccountCloseSerializer,
    ApiKeyCreateSerializer,
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    MeSerializer,
    UserCreateSerializer,
    UserSerializer,
)


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer, **errors(401)}, summary="The caller: who they are and their partner")
    def get(self, request: Request) -> Response:
        user = User.objects.select_related("partner_membership__partner").get(pk=request.user.pk)
        return Response(MeSerializer(user).data)


class UserCreateView(APIView):
    permission_classes = [IsAuthenticated, power_required(Power.USERS)]

    @extend_schema(
        request=UserCreateSerializer, responses={201: UserSerializer, **errors(400, 401, 403)},
        summary="Register a user with a verified email (staff)",
    )
    def post(self, request: Request) -> Response:
        user = services.user_create(actor=request.user, **validated_data(UserCreateSerializer, request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


# --- privacy: download my data, close my account (flow 12) -------------------------------------


class MeDataView(APIView):
    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **errors(401)},
        summary="Everything the portal keeps about you (download my data)",
        description="The same JSON as the privacy page's download: profile, partner membership, roles, holding "
                    "memberships, access requests, support cases, your events and API keys. Other people appear "
                    "only as “you”, “another user”, “support” or “system”.",
    )
    def get(self, request: Request) -> Response:
        response = Response(selectors.user_personal_data(request.user))
        add_never_cache_headers(response)
        return response


class MeCloseView(APIView):
    @extend_schema(
        request=AccountCloseSerializer, responses={204: None, **errors(400, 401, 403)},
        summary="Close your account (type your own email to confirm)",
        description="Roles and memberships go, your API keys stop working, you cannot sign in again and the event "
                    "log keeps a pseudonym. The only admin of a Smart Account is refused (400) until they grant "
                    "another user Smart Account admin there. Needs a session that re-authenticated in the last "
                    "five minutes (403 otherwise, and always with an API key).",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(AccountCloseSerializer, request)
        require_recent_authentication(request)
        services.user_close(user=request.user, actor=request.user, confirm_email=data["confirm_email"])
        logout(request._request)  # a session caller is signed out, as on the page
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- API keys (the profile page) -----------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    responses={200: ApiKeySerializer(many=True), **errors(401)}, summary="Your API keys",
))
class ApiKeyListView(generics.ListAPIView):
    """The caller's own API keys, newest first; a new key is shown once, in the answer that creates it."""

    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(
        request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer, **errors(400, 401, 403)},
        summary="Create an API key; `key` is shown in this answer only",
        description="Needs a signed-in session that re-authenticated (password or two-factor code, at "
                    "/accounts/reauthenticate/) in the last five minutes; an API key cannot create keys (403).",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(ApiKeyCreateSerializer, request)
        require_recent_authentication(request)
        key, raw = services.api_key_create(
            user=request.user, name=data["name"], expires_in_days=data.get("expires_in_days")
        )
        key.key = raw
        response = Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)
        add_never_cache_headers(response)
        return response


class ApiKeyDetailView(APIView):
    @extend_schema(responses={204: None, **errors(401, 404)},
                   summary="Revoke one of your API keys; requests using it are refused from now on")
    def delete(self, request: Request, pk: int) -> Response:
        key = get_object_or_404(ApiKey, pk=pk, user=request.user)  # anyone else's key: 404
        services.api_key_revoke(key=key, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
