"""Shapes of the accounts API about Smart Accounts: the accounts, access requests, roles,
holding-account members and the Virtual Account tree. What comes in is checked for types only;
the rules are the services'."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    SA_ROLES,
    AccessRequest,
    HoldingMembership,
    Partner,
    Role,
    SmartAccount,
    SmartAccountKind,
    SmartAccountRole,
    VirtualAccount,
)
from lib.api import BoundedManyRelatedField


class SmartAccountSerializer(serializers.ModelSerializer):
    """What a domain search or an account list shows of an account."""

    class Meta:
        model = SmartAccount
        fields = ["id", "name", "domain", "kind", "status"]


class YourRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    virtual_account = serializers.IntegerField(allow_null=True, help_text="Empty for a role on the whole account.")


class SmartAccountDetailSerializer(serializers.ModelSerializer):
    """One account as its role holders see it. Expects `root_virtual_account_id` annotated on the
    instance and the caller's roles as `your_roles` in the context ([(role, virtual_account)])."""

    root_virtual_account = serializers.IntegerField(source="root_virtual_account_id", read_only=True,
                                                    help_text="Id of the root Virtual Account DEFAULT.")
    default_virtual_account = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Where order lines without a Virtual Account land."
    )
    partner = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="Holding accounts: the owning partner; customer accounts: the requesting partner (empty if none).",
    )
    contact_email = serializers.EmailField(
        source="contact.email", read_only=True, allow_null=True,
        help_text="The customer contact who activates an account requested for them.",
    )
    your_roles = serializers.SerializerMethodField()

    class Meta:
        model = SmartAccount
        fields = [
            "id", "name", "domain", "kind", "status", "root_virtual_account", "default_virtual_account", "partner",
            "contact_email", "your_roles", "created_at", "activated_at",
        ]

    @extend_schema_field(YourRoleSerializer(many=True))
    def get_your_roles(self, smart_account: SmartAccount) -> list[dict]:
        return [
            {"role": role, "virtual_account": va.pk if va is not None else None}
            for role, va in self.context.get("your_roles", [])
        ]


class SmartAccountCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SmartAccountKind.choices, default=SmartAccountKind.CUSTOMER)
    name = serializers.CharField()
    domain = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Customer accounts: the Account Domain Identifier, e.g. acme.com.")
    contact_email = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Customer accounts requested on a customer's behalf (partner users): the customer contact, "
                  "a registered user of that domain, who activates the account. Empty or your own email: "
                  "an account for yourself, active at once.",
    )
    partner = serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(), required=False, allow_null=True, default=None,
        help_text="Holding accounts: the owning partner (staff); default the caller's partner.",
    )

    def validate(self, data: dict) -> dict:
        # Which fields belong to which kind is the body's shape; everything else is the services'.
        if data["kind"] == SmartAccountKind.HOLDING:
            extra = {f: "A holding account has no such field." for f in ("domain", "contact_email") if data.get(f)}
        else:
            extra = {"partner": "Only a holding account names its partner."} if data.get("partner") else {}
        if extra:
            raise serializers.ValidationError(extra)
        return data


class SmartAccountActivateSerializer(serializers.Serializer):
    grant_partner_role = serializers.ChoiceField(
        choices=[(role.value, role.label) for role in SA_ROLES], required=False, allow_null=True, allow_blank=True,
        default=None, help_text="Give the partner user who requested the account this role as well.",
    )


# --- Virtual Account references in a body -------------------------------------------------------


class ScopedVirtualAccountField(serializers.PrimaryKeyRelatedField):
    """A Virtual Account id among those the view offers (`context["virtual_accounts"]`): an id outside
    them is answered like an unknown one, so a body never reveals what the caller may not see."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", VirtualAccount.objects.all())  # the model, for the schema
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.context.get("virtual_accounts", VirtualAccount.objects.none())


class SmartAccountUpdateSerializer(serializers.Serializer):
    default_virtual_account = ScopedVirtualAccountField(
        help_text="Id of one of the account's Virtual Accounts: where order lines without a Virtual Account land.",
    )


# --- access requests ----------------------------------------------------------------------------


# Each chosen Virtual Account is looked up and granted the role one by one: refused beyond this
# before any lookup.
MAX_VIRTUAL_ACCOUNTS_PER_GRANT = 100
SCOPE_WANTED_HELP = "The scope asked for, in the requester's words; empty: the whole account."


class OwnAccessRequestSerializer(serializers.ModelSerializer):
    """An access request as its requester sees it: nothing of the account's tree."""

    requester_email = serializers.EmailField(source="requester.email", read_only=True)
    scope_wanted = serializers.CharField(read_only=True, help_text=SCOPE_WANTED_HELP)
    decided_by = serializers.EmailField(source="decided_by.email", read_only=True, allow_null=True)

    class Meta:
        model = AccessRequest
        fields = [
            "id", "smart_account", "requester", "requester_email", "message", "scope_wanted", "status",
            "granted_role", "reason", "decided_by", "created_at", "decided_at",
        ]


class AccessRequestSerializer(OwnAccessRequestSerializer):
    """An access request as the account's admins see it."""

    virtual_accounts = serializers.PrimaryKeyRelatedField(
        source="requested_virtual_accounts", many=True, read_only=True,
        help_text="Requests made before `scope_wanted` existed named Virtual Accounts by id; new ones leave this empty.",
    )

    class Meta(OwnAccessRequestSerializer.Meta):
        fields = [*OwnAccessRequestSerializer.Meta.fields, "virtual_accounts"]


class AccessRequestCreateSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, default="")
    scope_wanted = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200,
        help_text="The part of the account wanted, in words (e.g. \"Finance in the US\"); empty: the whole account. "
                  "The admins choose the Virtual Accounts when they approve.",
    )

    def validate(self, attrs: dict) -> dict:
        # Ids would let a requester without a role probe the tree (an id of this account or not):
        # every value gets the same answer.
        if isinstance(self.initial_data, dict) and self.initial_data.get("virtual_accounts") not in (None, "", []):
            raise serializers.ValidationError({"virtual_accounts": [
                "Name the scope you want in words in scope_wanted: the account's admins choose the Virtual Accounts."]})
        return attrs


class AccessRequestApproveSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    virtual_accounts = BoundedManyRelatedField(
        child_relation=ScopedVirtualAccountField(), max_length=MAX_VIRTUAL_ACCOUNTS_PER_GRANT,
        required=False, default=list, help_text="VA roles: the Virtual Accounts it applies to.",
    )


class AccessRequestDenySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="Told to the requester.")


# --- roles --------------------------------------------------------------------------------------


class RoleSerializer(serializers.Serializer):
    """One role row: an SA role (whole account) or a VA role (that Virtual Account's subtree).
    Expects `permission`, `user`, `granted_by` and `content_object` loaded."""

    id = serializers.UUIDField()
    user = serializers.IntegerField(source="user_id")
    user_email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices, source="permission.codename")
    smart_account = serializers.SerializerMethodField()
    virtual_account = serializers.SerializerMethodField(help_text="Empty for a Smart Account role.")
    granted_by = serializers.EmailField(source="granted_by.email", allow_null=True)
    granted_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.INT)
    def get_smart_account(self, row) -> int:
        return row.content_object_id if isinstance(row, SmartAccountRole) else row.content_object.smart_account_id

    @extend_schema_field({"type": "integer", "nullable": True})
    def get_virtual_account(self, row) -> int | None:
        return None if isinstance(row, SmartAccountRole) else row.content_object_id


class RoleGrantSerializer(serializers.Serializer):
    user_email = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    virtual_account = ScopedVirtualAccountField(
        required=False, allow_null=True, default=None, help_text="VA roles: the Virtual Account (its whole subtree)."
    )


# --- holding-account members --------------------------------------------------------------------


class HoldingMemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = HoldingMembership
        fields = ["id", "user", "email", "name", "notify", "created_at"]


class HoldingMemberAddSerializer(serializers.Serializer):
    email = serializers.CharField(required=False, help_text="The partner user who joins; default yourself.")
    notify = serializers.BooleanField(required=False, default=True, help_text="Email them about its orders.")


# --- Virtual Accounts ---------------------------------------------------------------------------


class VirtualAccountSerializer(serializers.ModelSerializer):
    """A node of an account's tree. `visible` is false for a node listed only as the path to what
    the caller may see (its name, nothing of what it holds)."""

    parent = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="Empty for the root DEFAULT.")
    level = serializers.IntegerField(read_only=True, help_text="0 for the root DEFAULT.")
    description = serializers.SerializerMethodField()
    visible = serializers.SerializerMethodField()

    class Meta:
        model = VirtualAccount
        fields = ["id", "name", "parent", "level", "description", "smart_account", "visible"]

    @staticmethod
    def _visible(va: VirtualAccount) -> bool:
        return getattr(va, "is_visible", True)

    def get_description(self, va: VirtualAccount) -> str:
        return va.description if self._visible(va) else ""

    def get_visible(self, va: VirtualAccount) -> bool:
        return self._visible(va)


class VirtualAccountCreateSerializer(serializers.Serializer):
    name = serializers.CharField()
    parent = ScopedVirtualAccountField(help_text="Id of the parent Virtual Account.")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class VirtualAccountUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, help_text="Rename.")
    parent = ScopedVirtualAccountField(required=False, help_text="Move below this Virtual Account (same account).")
    description = serializers.CharField(required=False, allow_blank=True)
