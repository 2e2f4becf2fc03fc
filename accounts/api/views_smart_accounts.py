"""API views of Smart Accounts (find, create, request, activate), holding-account members and
the Virtual Account tree.

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import permissions, services
from accounts.models import (
    HoldingMembership,
    SmartAccount,
    SmartAccountKind,
    User,
    VirtualAccount,
    normalise_domain,
)
from accounts.permissions import ADMINISTER, HOLD, STRUCTURE, VIEW
from accounts.validators import refuse_control_characters
from lib.api import errors, validated_data

from .permissions import get_visible_or_404
from .serializers_smart_accounts import (
    HoldingMemberAddSerializer,
    HoldingMemberSerializer,
    SmartAccountActivateSerializer,
    SmartAccountCreateSerializer,
    SmartAccountDetailSerializer,
    SmartAccountSerializer,
    SmartAccountUpdateSerializer,
    VirtualAccountCreateSerializer,
    VirtualAccountSerializer,
    VirtualAccountUpdateSerializer,
)


def smart_accounts_with_root() -> QuerySet[SmartAccount]:
    """Smart Accounts with what their detail shows (root Virtual Account, contact) in one query."""
    root = VirtualAccount.objects.filter(smart_account=OuterRef("pk"), parent__isnull=True).values("pk")[:1]
    return SmartAccount.objects.select_related("contact").annotate(root_virtual_account_id=Subquery(root))


def smart_account_detail(request: Request, smart_account: SmartAccount) -> dict:
    context = {"your_roles": permissions.roles_of(request.user, smart_account)}
    return SmartAccountDetailSerializer(smart_account, context=context).data


@extend_schema_view(get=extend_schema(
    parameters=[OpenApiParameter(
        "domain", str, description="Find the customer Smart Accounts of this domain (exact, case-insensitive); "
                                   "without it: the accounts you hold a role in or are a member of.",
    )],
    responses={200: SmartAccountSerializer(many=True), **errors(400, 401)},
    summary="Find Smart Accounts by domain, or list your own",
))
class SmartAccountListView(generics.ListAPIView):
    """Find accounts by domain (any user: flow 1), list one's own, create one (flows 2–4)."""

    serializer_class = SmartAccountSerializer

    def get_queryset(self) -> QuerySet[SmartAccount]:
        domain = self.request.query_params.get("domain")
        if domain is None:
            return permissions.visible(self.request.user, SmartAccount).order_by("kind", "name", "pk")
        domain = normalise_domain(domain)
        if not domain:
            raise ValidationError({"domain": ["Enter a domain such as acme.com."]})
        # A NUL in a query is a DataError on PostgreSQL: refused like any other bad input (400).
        refuse_control_characters(domain, field="domain")
        # Exact match on the stored (normalised, lower-case) domain: acme.com never finds sub.acme.com.
        return SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER, domain=domain).order_by("name", "pk")

    @extend_schema(
        request=SmartAccountCreateSerializer, responses={201: SmartAccountDetailSerializer, **errors(400, 401, 403)},
        summary="Create a Smart Account for yourself, request one for a customer, or create a holding account",
        description="`kind: customer` with no `contact_email` (or your own): an account for your own email's domain, "
                    "active at once, you its SA admin. With another user's `contact_email` (partner users): a `new` "
                    "account the contact activates. `kind: holding`: a holding account of your partner.",
    )
    def post(self, request: Request) -> Response:
        data = validated_data(SmartAccountCreateSerializer, request)
        user = request.user
        contact_email = data["contact_email"].strip().lower()
        if data["kind"] == SmartAccountKind.HOLDING:
            sa = services.holding_account_create(name=data["name"], partner=data["partner"], actor=user)
        elif contact_email and contact_email != user.email.lower():
            sa = services.smart_account_request(name=data["name"], domain=data["domain"], contact_email=contact_email,
                                                actor=user)
        else:
            sa = services.smart_account_create(name=data["name"], domain=data["domain"], actor=user)
        return Response(smart_account_detail(request, smart_accounts_with_root().get(pk=sa.pk)),
                        status=status.HTTP_201_CREATED)


class SmartAccountDetailView(APIView):
    @extend_schema(responses={200: SmartAccountDetailSerializer, **errors(401, 404)},
                   summary="One Smart Account, with your roles in it")
    def get(self, request: Request, pk: int) -> Response:
        sa = get_visible_or_404(request, smart_accounts_with_root(), pk=pk)
        return Response(smart_account_detail(request, sa))

    @extend_schema(
        request=SmartAccountUpdateSerializer,
        responses={200: SmartAccountDetailSerializer, **errors(400, 401, 403, 404)},
        summary="Set the account's default Virtual Account (SA admin)",
        description="Order lines that name no Virtual Account land in the default one. The Virtual Account must "
                    "belong to this account (400, keyed `default_virtual_account`).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        sa = get_visible_or_404(request, SmartAccount.objects.all(), ADMINISTER, pk=pk)
        data = validated_data(SmartAccountUpdateSerializer, request,
                              virtual_accounts=VirtualAccount.objects.filter(smart_account=sa))
        services.smart_account_set_default_virtual_account(virtual_account=data["default_virtual_account"],
                                                           actor=request.user)
        return Response(smart_account_detail(request, smart_accounts_with_root().get(pk=sa.pk)))


class SmartAccountActivateView(APIView):
    @extend_schema(
        request=SmartAccountActivateSerializer,
        responses={200: SmartAccountDetailSerializer, **errors(400, 401, 403, 404)},
        summary="Activate a new account (its named contact)",
        description="`new` → `active`; the contact becomes its SA admin and may give the partner user who requested "
                    "it a role in the same step. Found (else 404) by its contact, its requester, staff and anyone "
                    "who can see it; only the contact (or staff) may activate (403).",
    )
    def post(self, request: Request, pk: int) -> Response:
        # A `new` account has no role holders yet, so permissions.visible does not find it for
        # its contact: the contact and the requester (who knows its id) find it here as well.
        user = request.user
        known = SmartAccount.objects.filter(kind=SmartAccountKind.CUSTOMER).filter(
            Q(contact=user) | Q(requested_by=user) | Q(pk__in=permissions.visible(user, SmartAccount).values("pk"))
        )
        sa = get_object_or_404(known, pk=pk)
        data = validated_data(SmartAccountActivateSerializer, request)
        services.smart_account_activate(smart_account=sa, actor=user,
                                        grant_partner_role=data["grant_partner_role"] or None)
        return Response(smart_account_detail(request, smart_accounts_with_root().get(pk=sa.pk)))


# --- holding-account members ------------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    responses={200: HoldingMemberSerializer(many=True), **errors(401, 403, 404)},
    summary="Members of a holding account (its members, partner admins)",
))
class HoldingMemberListView(generics.ListAPIView):
    """Members of a holding account: its partner's users join it (or its admins add them)."""

    serializer_class = HoldingMemberSerializer

    def get_holding_account(self) -> SmartAccount:
        """A holding account of the caller's own partner (any for staff); 404 otherwise."""
        qs = permissions.reachable_holding_accounts(self.request.user).select_related("partner")
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[HoldingMembership]:
        sa = self.get_holding_account()
        permissions.require(self.request.user, HOLD, sa)
        return HoldingMembership.objects.filter(smart_account=sa).select_related("user").order_by("user__email")

    @extend_schema(
        request=HoldingMemberAddSerializer, responses={201: HoldingMemberSerializer, **errors(400, 401, 403, 404)},
        summary="Join a holding account, or add a colleague to it (partner admin); sets `notify`",
    )
    def post(self, request: Request, pk: int) -> Response:
        sa = self.get_holding_account()
        data = validated_data(HoldingMemberAddSerializer, request)
        membership = services.holding_member_add(smart_account=sa, email=data.get("email") or request.user.email,
                                                 notify=data["notify"], actor=request.user)
        return Response(HoldingMemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class HoldingMemberDetailView(APIView):
    @extend_schema(
        responses={204: None, **errors(401, 403, 404)},
        summary="Leave a holding account, or take a member out of it (the member; partner admin, staff)",
        description="Holding accounts of another partner, and members not of this account, are 404.",
    )
    def delete(self, request: Request, pk: int, member_id: int) -> Response:
        user = request.user
        sa = get_object_or_404(permissions.reachable_holding_accounts(user).select_related("partner"), pk=pk)
        membership = get_object_or_404(HoldingMembership.objects.select_related("user"), pk=member_id, smart_account=sa)
        membership.smart_account = sa
        services.holding_member_remove(membership=membership, actor=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Virtual Accounts -------------------------------------------------------------------------


@extend_schema_view(get=extend_schema(
    responses={200: VirtualAccountSerializer(many=True), **errors(401, 404)},
    summary="An account's Virtual Accounts (tree order)",
    description="Nodes you may see have `visible: true`; the nodes above them, listed only as the path to "
                "navigate, have `visible: false` (name only). Sibling subtrees you have no role on are absent.",
))
class VirtualAccountListView(generics.ListAPIView):
    """An account's tree as a flat list in tree order: what the caller may see, plus the path to it."""

    serializer_class = VirtualAccountSerializer

    def get_smart_account(self) -> SmartAccount:
        return get_visible_or_404(self.request, SmartAccount.objects.all(), pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[VirtualAccount]:
        user = self.request.user
        sa = self.get_smart_account()
        if sa.is_holding and permissions.can(user, HOLD, sa):
            # Holding-account members park and move orders by Virtual Account: they get its names.
            tree = VirtualAccount.objects.filter(smart_account=sa)
        else:
            tree = permissions.navigation_virtual_accounts(user, sa)
        viewable = permissions.visible_virtual_accounts(user, VIEW).filter(pk=OuterRef("pk"))
        return tree.annotate(is_visible=Exists(viewable)).order_by("tree_id", "lft")

    @extend_schema(
        request=VirtualAccountCreateSerializer, responses={201: VirtualAccountSerializer, **errors(400, 401, 403, 404)},
        summary="Create a Virtual Account below a parent (SA admin; VA admin below its VA)",
    )
    def post(self, request: Request, pk: int) -> Response:
        user = request.user
        sa = self.get_smart_account()
        if not permissions.visible_virtual_accounts(user, STRUCTURE).filter(smart_account=sa).exists():
            raise permissions.refusal(user, "You may not create Virtual Accounts in this account.")
        data = validated_data(VirtualAccountCreateSerializer, request,
                              virtual_accounts=permissions.navigation_virtual_accounts(user, sa))
        va = services.virtual_account_create(actor=user, **data)
        return Response(VirtualAccountSerializer(va).data, status=status.HTTP_201_CREATED)


def require_restructure(user: User, va: VirtualAccount) -> None:
    """403 unless the caller may rename/move/delete it. The root is never changed, a rule the
    service answers (400) to those who may structure it."""
    allowed = permissions.can_restructure(user, va) if va.parent_id else permissions.can(user, STRUCTURE, va)
    if not allowed:
        raise permissions.refusal(user, "You may not change this Virtual Account.")


class VirtualAccountDetailView(APIView):
    def get_virtual_account(self, request: Request, pk: int) -> VirtualAccount:
        return get_visible_or_404(request, VirtualAccount.objects.select_related("smart_account", "parent"), pk=pk)

    @extend_schema(responses={200: VirtualAccountSerializer, **errors(401, 404)}, summary="One Virtual Account")
    def get(self, request: Request, pk: int) -> Response:
        return Response(VirtualAccountSerializer(self.get_virtual_account(request, pk)).data)

    @extend_schema(
        request=VirtualAccountUpdateSerializer, responses={200: VirtualAccountSerializer, **errors(400, 401, 403, 404)},
        summary="Rename and/or move a Virtual Account within its account (SA admin; VA admin below its VA)",
    )
    def patch(self, request: Request, pk: int) -> Response:
        user = request.user
        va = self.get_virtual_account(request, pk)
        require_restructure(user, va)
        data = validated_data(VirtualAccountUpdateSerializer, request,
                              virtual_accounts=permissions.navigation_virtual_accounts(user, va.smart_account))
        with transaction.atomic():  # a move and a rename in one request: both or neither
            if "parent" in data and data["parent"].pk != va.parent_id:
                va = services.virtual_account_move(virtual_account=va, parent=data["parent"], actor=user)
            if "name" in data or "description" in data:
                va = services.virtual_account_rename(virtual_account=va, name=data.get("name", va.name),
                                                     description=data.get("description"), actor=user)
        return Response(VirtualAccountSerializer(VirtualAccount.objects.get(pk=va.pk)).data)

    @extend_schema(responses={204: None, **errors(400, 401, 403, 404)},
                   summary="Delete an empty Virtual Account (no children, licenses or devices)")
    def delete(self, request: Request, pk: int) -> Response:
        va = self.get_virtual_account(request, pk)
        require_restructure(request.user, va)
        services.virtual_account_delete(virtual_account=va, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
