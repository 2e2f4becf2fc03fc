"""Shapes of the accounts API about the caller: who they are, registering users, closing an
account, API keys and support cases. What comes in is checked for types only; the rules are the
services'."""
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import (
    ApiKey,
    PartnerKind,
    SmartAccount,
    SupportCase,
    SupportCaseStatus,
    SupportMessage,
    User,
)


class MePartnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=PartnerKind.choices)
    is_admin = serializers.BooleanField()


class MeSerializer(serializers.ModelSerializer):
    partner = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "partner", "is_staff"]

    @extend_schema_field(MePartnerSerializer(allow_null=True))
    def get_partner(self, user: User) -> dict | None:
        membership = getattr(user, "partner_membership", None)
        if membership is None:
            return None
        partner = membership.partner
        return {"id": partner.pk, "name": partner.name, "kind": partner.kind, "is_admin": membership.is_admin}


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]


class UserCreateSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(write_only=True, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


# --- privacy: my data, closing my account -------------------------------------------------------


class AccountCloseSerializer(serializers.Serializer):
    # Checked against the caller's email by services.user_close(confirm_email=…).
    confirm_email = serializers.CharField(max_length=254, help_text="Your own email address, typed to confirm.")


# --- API keys -----------------------------------------------------------------------------------


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "revoked_reason"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The key itself: shown in this answer only, never again.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What uses it, e.g. “inventory sync script”.")
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=365,
        help_text="Days until the key stops working (1–365); omitted or null: until revoked.",
    )


# --- support cases ------------------------------------------------------------------------------


class ScopedSmartAccountField(serializers.PrimaryKeyRelatedField):
    """A Smart Account id among those the view offers (`context["smart_accounts"]`): an id outside
    them is answered like an unknown one."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", SmartAccount.objects.all())  # the model, for the schema
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.context.get("smart_accounts", SmartAccount.objects.none())


class SupportMessageSerializer(serializers.ModelSerializer):
    """One message of a case's thread. Staff are "Support team", never a named person (as on the
    page); the case owner's messages are "You" to the owner."""

    author = serializers.SerializerMethodField(help_text="“Support team”, “You”, or (to staff) the user's email.")

    class Meta:
        model = SupportMessage
        fields = ["id", "author", "from_staff", "body", "created_at"]

    def get_author(self, message: SupportMessage) -> str:
        # `context["case"]` (with its user) is the thread's case: no query per message.
        if message.from_staff:
            return "Support team"
        case, viewer = self.context["case"], self.context["viewer"]
        return "You" if viewer.pk == case.user_id else case.user.email


class SupportCaseSerializer(serializers.ModelSerializer):
    """A case as listed. Expects `message_count` annotated (accounts.selectors.support_cases_of)."""

    smart_account_name = serializers.CharField(source="smart_account.name", read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=SupportCaseStatus.choices, read_only=True)
    message_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = SupportCase
        fields = ["id", "subject", "status", "smart_account", "smart_account_name", "order_number",
                  "message_count", "created_at", "updated_at"]


class SupportCaseDetailSerializer(SupportCaseSerializer):
    """A case with its thread, oldest message first. Expects `thread` prefetched."""

    messages = SupportMessageSerializer(source="thread", many=True, read_only=True)

    class Meta(SupportCaseSerializer.Meta):
        fields = [*SupportCaseSerializer.Meta.fields, "messages"]


class SupportCaseCreateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200, help_text="One line: what went wrong or what you need.")
    body = serializers.CharField(max_length=10000, help_text="What you did, what you expected, what happened instead.")
    smart_account = ScopedSmartAccountField(
        required=False, allow_null=True, default=None, help_text="The account it is about (one you can see)."
    )
    order_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                         help_text="If it is about an order, e.g. SO-100042.")


class SupportReplySerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000)
