"""API views of the accounts app: the caller, users, partners and their members; Smart Accounts
(find, create, request, activate), access requests, roles, holding-account members and the
Virtual Account tree; and (flow 12, the partner pages) the caller's data and API keys, closing
an account, support cases, partner members and the customers a partner manages.

Each view finds what the caller may see (accounts.permissions: invisible → 404, visible but not
allowed → 403), checks the body's shape, and calls one service — the same ones the pages call."""
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lib.api import errors, validated_data

from . import permissions, selectors, services
from .api_auth import require_recent_authentication
from .api_permissions import IsStaff, IsStaffOrReadOnly, get_visible_or_404
from .models import (
    AccessRequest,
    AccessRequestStatus,
    ApiKey,
    HoldingMembership,
    Invitation,
    InvitationPurpose,
    Partner,
    PartnerMembership,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    SupportCase,
    SupportCaseStatus,
    SupportMessage,
    User,
    VirtualAccount,
    VirtualAccountRole,
    normalise_domain,
)
from .permissions import ADMINISTER, HOLD, STRUCTURE, VIEW
from .serializers import (
    AccessRequestApproveSerializer,
    AccessRequestCreateSerializer,
    AccessRequestDenySerializer,
    AccessRequestSerializer,
    OwnAccessRequestSerializer,
    AccountCloseSerializer,
    ApiKeyCreatedSerializer,
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    HoldingMemberAddSerializer,
    HoldingMemberSerializer,
    MeSerializer,
    PartnerCreateSerializer,
    PartnerCustomerRoleSerializer,
    PartnerInvitationSerializer,
    PartnerInvitationTokenSerializer,
    PartnerMemberAddSerializer,
    PartnerMemberSerializer,
    PartnerMemberUpdateSerializer,
    PartnerSerializer,
    RoleGrantSerializer,
    RoleSerializer,
    SmartAccountActivateSerializer,
    SmartAccountCreateSerializer,
    SmartAccountDetailSerializer,
    SmartAccountSerializer,
    SmartAccountUpdateSerializer,
    SupportCaseCreateSerializer,
    SupportCaseDetailSerializer,
    SupportCaseSerializer,
    SupportMessageSerializer,
    SupportReplySerializer,
    UserCreateSerializer,
    UserSerializer,
    VirtualAccountCreateSerializer,
    VirtualAccountSerializer,
    VirtualAccountUpdateSerializer,
)
from .validators import refuse_control_characters


def partners_visible_to(user: User) -> QuerySet[Partner]:
    """Staff see every partner; a partner member sees their own partner."""
    qs = Partner.objects.all()
    if permissions.is_staff(user):
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

    @extend_schema(
        responses={200: PartnerMemberSerializer(many=True), **errors(401, 404)}, summary="Members of a partner"
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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


class PartnerInvitationListView(generics.ListAPIView):
    """A partner's pending invitations: its admins and staff (its other members: 403)."""

    serializer_class = PartnerInvitationSerializer

    def get_queryset(self) -> QuerySet[Invitation]:
        partner = get_object_or_404(partners_visible_to(self.request.user), pk=self.kwargs["pk"])
        if not permissions.can_manage_partner(self.request.user, partner):
            raise permissions.refusal(self.request.user, "Only a partner admin may see its invitations.")
        return services.partner_invitations_pending(partner=partner)

    @extend_schema(
        responses={200: PartnerInvitationSerializer(many=True), **errors(401, 403, 404)},
        summary="Pending invitations to join a partner (partner admin, staff)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class PartnerInvitationDetailView(APIView):
    """One pending invitation: its partner's admins (and staff) withdraw it; its other members get 403."""

    @extend_schema(
        responses={204: None, **errors(401, 403, 404)},
        summary="Withdraw a pending invitation to join a partner (partner admin, staff)",
        description="Its link stops working. Invitations already used or expired, or of another partner, are 404.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        pending = services.partner_invitations_pending().filter(partner__in=partners_visible_to(request.user))
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


# --- Smart Accounts ---------------------------------------------------------------------------


def smart_accounts_with_root() -> QuerySet[SmartAccount]:
    """Smart Accounts with what their detail shows (root Virtual Account, contact) in one query."""
    root = VirtualAccount.objects.filter(smart_account=OuterRef("pk"), parent__isnull=True).values("pk")[:1]
    return SmartAccount.objects.select_related("contact").annotate(root_virtual_account_id=Subquery(root))


def smart_account_detail(request: Request, smart_account: SmartAccount) -> dict:
    context = {"your_roles": permissions.roles_of(request.user, smart_account)}
    return SmartAccountDetailSerializer(smart_account, context=context).data


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
        parameters=[OpenApiParameter(
            "domain", str, description="Find the customer Smart Accounts of this domain (exact, case-insensitive); "
                                       "without it: the accounts you hold a role in or are a member of.",
        )],
        responses={200: SmartAccountSerializer(many=True), **errors(400, 401)},
        summary="Find Smart Accounts by domain, or list your own",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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


# --- access requests --------------------------------------------------------------------------


def access_requests_with_scope() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related("requester", "decided_by").prefetch_related(
        "requested_virtual_accounts"
    )


class MyAccessRequestListView(generics.ListAPIView):
    """The caller's own access requests, whatever their status."""

    serializer_class = OwnAccessRequestSerializer

    def get_queryset(self) -> QuerySet[AccessRequest]:
        return (AccessRequest.objects.select_related("requester", "decided_by").filter(requester=self.request.user)
                .order_by("-created_at", "-pk"))

    @extend_schema(
        responses={200: OwnAccessRequestSerializer(many=True), **errors(401)},
        summary="Your own access requests (any status), newest first",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


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
        parameters=[OpenApiParameter("status", str, enum=AccessRequestStatus.values, description="Only these.")],
        responses={200: AccessRequestSerializer(many=True), **errors(400, 401, 403, 404)},
        summary="Access requests for an account, newest first (its SA admins)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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
        responses={200: RoleSerializer(many=True), **errors(401, 403, 404)},
        summary="Roles in an account: SA roles, then VA roles in tree order",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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
        return Response(RoleSerializer(services.role_get(row.pk)).data, status=status.HTTP_201_CREATED)


class RoleDetailView(APIView):
    @extend_schema(responses={204: None, **errors(400, 401, 403, 404)},
                   summary="Revoke a role; access ends at once (SA admin; VA admin for VA roles in its subtree)")
    def delete(self, request: Request, pk) -> Response:
        row = services.role_get(pk)
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


# --- holding-account members ------------------------------------------------------------------


class HoldingMemberListView(generics.ListAPIView):
    """Members of a holding account: its partner's users join it (or its admins add them)."""

    serializer_class = HoldingMemberSerializer

    def get_holding_account(self) -> SmartAccount:
        """A holding account of the caller's own partner (any for staff); 404 otherwise."""
        user = self.request.user
        qs = SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING).select_related("partner")
        if not permissions.is_staff(user):
            qs = qs.filter(pk__in=permissions.partner_holding_accounts(user).values("pk"))
        return get_object_or_404(qs, pk=self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[HoldingMembership]:
        sa = self.get_holding_account()
        permissions.require(self.request.user, HOLD, sa)
        return HoldingMembership.objects.filter(smart_account=sa).select_related("user").order_by("user__email")

    @extend_schema(
        responses={200: HoldingMemberSerializer(many=True), **errors(401, 403, 404)},
        summary="Members of a holding account (its members, partner admins)",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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
        holding = SmartAccount.objects.filter(kind=SmartAccountKind.HOLDING)
        if not permissions.is_staff(user):
            holding = holding.filter(pk__in=permissions.partner_holding_accounts(user).values("pk"))
        sa = get_object_or_404(holding.select_related("partner"), pk=pk)
        membership = get_object_or_404(HoldingMembership.objects.select_related("user"), pk=member_id, smart_account=sa)
        membership.smart_account = sa
        services.holding_member_remove(membership=membership, actor=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Virtual Accounts -------------------------------------------------------------------------


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
        responses={200: VirtualAccountSerializer(many=True), **errors(401, 404)},
        summary="An account's Virtual Accounts (tree order)",
        description="Nodes you may see have `visible: true`; the nodes above them, listed only as the path to "
                    "navigate, have `visible: false` (name only). Sibling subtrees you have no role on are absent.",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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


class ApiKeyListView(generics.ListAPIView):
    """The caller's own API keys, newest first; a new key is shown once, in the answer that creates it."""

    serializer_class = ApiKeySerializer

    def get_queryset(self) -> QuerySet[ApiKey]:
        return ApiKey.objects.filter(user=self.request.user).order_by("-created_at", "-pk")

    @extend_schema(responses={200: ApiKeySerializer(many=True), **errors(401)}, summary="Your API keys")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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


# --- support cases (flow 12) ---------------------------------------------------------------------


def support_cases_for(user: User) -> QuerySet[SupportCase]:
    """The cases a caller finds: their own (the support pages' selector); staff, who answer cases
    (in the admin or here), every case. Anyone else's case is 404."""
    if not permissions.is_staff(user):
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


class SupportCaseListView(generics.ListAPIView):
    """Open a case about an account or an order; list one's own cases (staff: `?all=true` for every case)."""

    serializer_class = SupportCaseSerializer

    def get_queryset(self) -> QuerySet[SupportCase]:
        user = self.request.user
        wanted = self.request.query_params.get("all", "")
        if wanted not in ("", "true", "false", "1", "0"):
            raise ValidationError({"all": ["Use true or false."]})
        if wanted in ("true", "1"):
            if not permissions.is_staff(user):
                raise PermissionDenied("Only vendor staff see every case.")
            return support_cases_for(user)
        return selectors.support_cases_of(user=user)

    @extend_schema(
        parameters=[OpenApiParameter("all", bool, description="Staff: every user's cases, not only your own.")],
        responses={200: SupportCaseSerializer(many=True), **errors(400, 401, 403)},
        summary="Your support cases, most recently active first",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

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
                                              from_staff=permissions.is_staff(user) and user.pk != case.user_id)
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


# --- partner members, customers managed (the partner pages) ---------------------------------------


class PartnerMemberDetailView(APIView):
    """One member of a partner: its admins (and staff) make them admin or not, or remove them."""

    def get_membership(self, request: Request, pk: int, member_id: int) -> PartnerMembership:
        partner = get_object_or_404(partners_visible_to(request.user), pk=pk)
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


class PartnerCustomerListView(generics.ListAPIView):
    """Customers a partner manages: the roles its users hold in customer Smart Accounts."""

    serializer_class = PartnerCustomerRoleSerializer

    def get_queryset(self) -> list:
        partner = get_object_or_404(partners_visible_to(self.request.user), pk=self.kwargs["pk"])
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
