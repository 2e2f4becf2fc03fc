"""Shapes of the accounts API about partners: the partners, their members and invitations, and
the customers a partner manages. What comes in is checked for types only; the rules are the
services'."""
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Invitation, Partner, PartnerKind, PartnerMembership, Role


class PartnerSerializer(serializers.ModelSerializer):
    distributors = serializers.PrimaryKeyRelatedField(many=True, read_only=True, help_text="Ids of its distributors.")
    linked_resellers = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the resellers a distributor sells through."
    )

    class Meta:
        model = Partner
        fields = ["id", "name", "kind", "distributors", "linked_resellers", "created_at"]


class PartnerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PartnerKind.choices)
    distributor = serializers.PrimaryKeyRelatedField(
        queryset=Partner.objects.all(), required=False, allow_null=True,
        help_text="Id of the distributor a new reseller sells through.",
    )


class PartnerMemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = PartnerMembership
        fields = ["id", "user", "email", "name", "is_admin", "created_at"]


class PartnerMemberAddSerializer(serializers.Serializer):
    email = serializers.CharField(max_length=254, help_text="The address to invite; its owner joins by accepting.")
    is_admin = serializers.BooleanField(required=False, default=False, help_text="Offer them partner admin.")


class PartnerMemberUpdateSerializer(serializers.Serializer):
    is_admin = serializers.BooleanField(help_text="Make the member a partner admin, or an ordinary member again.")


class PartnerInvitationSerializer(serializers.ModelSerializer):
    """An invitation to join a partner: what the partner typed and when it ends, nothing of the
    person the address belongs to."""

    is_admin = serializers.BooleanField(source="partner_admin", read_only=True, help_text="Offered as partner admin.")
    invited_by = serializers.EmailField(source="invited_by.email", allow_null=True, read_only=True)
    status = serializers.SerializerMethodField(
        help_text="`pending` until accepted, declined, withdrawn or expired (`used`, `expired`)."
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "is_admin", "invited_by", "created_at", "expires_at", "status"]

    @extend_schema_field(serializers.ChoiceField(choices=["pending", "used", "expired"]))
    def get_status(self, invitation: Invitation) -> str:
        if invitation.used_at is not None:
            return "used"
        return "pending" if invitation.expires_at > timezone.now() else "expired"


class PartnerInvitationTokenSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=500, help_text="The token of the emailed link: /invite/<token>/.")


# --- customers managed ----------------------------------------------------------------------------


class ManagedAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField()


class ManagedVirtualAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PartnerCustomerRoleSerializer(serializers.Serializer):
    """One role a partner's user holds in a customer's Smart Account
    (an accounts.selectors.ManagedRole); `can_open` comes from `context["openable_ids"]`."""

    id = serializers.UUIDField()
    smart_account = ManagedAccountSerializer()
    user_email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices)
    role_label = serializers.CharField()
    virtual_account = ManagedVirtualAccountSerializer(allow_null=True, help_text="Empty for a whole-account role.")
    scope = serializers.CharField(help_text="The Virtual Account's name, or “Whole account”.")
    granted_by = serializers.EmailField(source="granted_by.email", allow_null=True)
    granted_at = serializers.DateTimeField()
    can_open = serializers.SerializerMethodField(help_text="Whether you yourself may open this account.")

    def get_can_open(self, row) -> bool:
        return row.smart_account.pk in self.context.get("openable_ids", ())
